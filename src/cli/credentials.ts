/**
 * The credentials `sunset auth login` saves (owner-only, never printed) and where they live:
 * SUNSET_HOME (default ~/.sunset), SUNSET_CREDENTIALS or --credentials.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { apiTarget, emulatorTarget, zohoTarget } from '../engine/index.js';
import { isDataCentre, type DataCentre } from '../zoho/index.js';
import { ExitError } from './exit-codes.js';

export interface StoredCredentials {
  version: 1;
  kind: 'zoho' | 'emulator';
  dataCentre?: DataCentre;
  baseUrl?: string;
  accountsUrl?: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The organization commands use when none is named. */
  organizationId?: string;
}

export function sunsetHome(env: NodeJS.ProcessEnv): string {
  return resolve(env.SUNSET_HOME ?? join(homedir(), '.sunset'));
}

export function credentialsPath(env: NodeJS.ProcessEnv, flag?: string): string {
  return resolve(flag ?? env.SUNSET_CREDENTIALS ?? join(sunsetHome(env), 'credentials.json'));
}

export function readCredentials(path: string): StoredCredentials | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new ExitError(`${path} is not valid JSON. Run \`sunset auth login\` again, or delete the file.`);
  }
  const c = parsed as Partial<StoredCredentials>;
  if (c.version !== 1 || (c.kind !== 'zoho' && c.kind !== 'emulator') || !c.clientId || !c.clientSecret || !c.refreshToken) {
    throw new ExitError(`${path} is not a Sunset credentials file. Run \`sunset auth login\` again.`);
  }
  if (c.dataCentre !== undefined && !isDataCentre(c.dataCentre)) throw new ExitError(`${path} names an unknown data centre "${c.dataCentre}".`);
  return c as StoredCredentials;
}

export function writeCredentials(path: string, credentials: StoredCredentials): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // A new file, owner-only from its first byte ('wx': never an existing file or link), renamed over
  // the old one: the secrets are never written into a file others may read, whatever its mode was.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** The target saved credentials reach. */
export function credentialsTarget(stored: StoredCredentials): string {
  if (stored.kind === 'emulator') return emulatorTarget(stored.baseUrl ?? stored.accountsUrl ?? 'http://127.0.0.1');
  if (stored.baseUrl) return apiTarget(stored.baseUrl);
  return zohoTarget(stored.dataCentre ?? 'US');
}
