/**
 * Who acts: the person the audit trail names (--actor, SUNSET_ACTOR, else user@host), and the
 * process that holds a run's lease (host:pid:random), with whether such a process is gone.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';

export function ownerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** A lease owner on this host whose process is gone. */
export function isDeadOwner(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

export function actorName(env: NodeJS.ProcessEnv, flag?: string): string {
  if (flag) return flag;
  if (env.SUNSET_ACTOR) return env.SUNSET_ACTOR;
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}
