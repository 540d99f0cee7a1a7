/**
 * How sign-in resists guessing (docs/service.md, "Sign-in and security"): failed sign-ins are
 * counted per user name and per client address, in the database (src/service/store.ts, table
 * `sign_in_failures`), so the limits hold across restarts and across several processes on one
 * PostgreSQL.
 *
 * Within a window of 15 minutes from its first failure, a name or an address may fail 4 times
 * freely; from the 5th failure on, its next attempt is refused (429, Retry-After) until a delay
 * has passed, 15 s after the 5th and doubling after each further one (30 s, 1 min, 2 min, 4 min);
 * the 10th failure locks it for 15 minutes. When the window or the lock ends, counting starts
 * again. A refused attempt checks no password and counts nothing.
 *
 * The store's SQL applies these rules in one statement per name or address; `liveState` reads a
 * stored row by the same rules (for `sunset users list` and the answer to a refused attempt).
 */
import { isIPv4, isIPv6 } from 'node:net';

export const SIGN_IN_LIMITS = Object.freeze({
  /** The window failures are counted in, from its first failure. */
  windowMs: 15 * 60_000,
  /** From this many failures in the window, each next attempt waits. */
  throttleAfter: 5,
  /** The wait after the `throttleAfter`-th failure; doubled after each further one. */
  firstDelayMs: 15_000,
  /** This many failures in the window lock the name or address... */
  lockAfter: 10,
  /** ...for this long. */
  lockMs: 15 * 60_000,
});

export type SignInKind = 'user' | 'address';

/** A name's or an address's failures as stored. */
export interface SignInRow {
  failures: number;
  windowStart: number;
  lastFailedAt: number;
  /** Attempts are refused until then (0: not refused). */
  blockedUntil: number;
}

/** What a stored row means at `now`. */
export interface SignInState {
  /** Failures in the current window (0 once it, or the lock, has ended). */
  failures: number;
  lastFailedAt: number | null;
  /** Attempts are refused until then (null: they are not). */
  blockedUntil: number | null;
  /** Refused because of a lock, not a delay. */
  locked: boolean;
}

/** The rules above, read at `now` (the SQL in store.ts applies the same ones). */
export function liveState(row: SignInRow, now: number): SignInState {
  const { windowMs, lockAfter } = SIGN_IN_LIMITS;
  const blocked = row.blockedUntil > now;
  const ended = !blocked && (row.failures >= lockAfter || row.windowStart <= now - windowMs);
  if (ended || row.failures === 0) return { failures: 0, lastFailedAt: null, blockedUntil: null, locked: false };
  return { failures: row.failures, lastFailedAt: row.lastFailedAt, blockedUntil: blocked ? row.blockedUntil : null, locked: blocked && row.failures >= lockAfter };
}

/**
 * The address failures are counted against: the socket's remote address (never X-Forwarded-For,
 * which anyone can send). An IPv4 address as it is (also when the socket reports it IPv4-mapped,
 * `::ffff:192.0.2.1`); an IPv6 address by its /64, the block one machine usually holds: counting
 * each of its 2^64 addresses apart would let one attacker's machine spread its guesses. '' when
 * there is no socket (requests made in-process).
 */
export function addressKey(remote: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(remote)) return remote;
  if (!isIPv6(remote)) return remote;
  // Without a zone (`%eth0`), and a trailing dotted quad as the two groups it stands for.
  const address = remote.split('%')[0]!.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** "try again in 15 minutes" (or seconds, under a minute), for a wait of `ms`. */
export function tryAgainIn(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `try again in ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `try again in ${minutes} minute${minutes === 1 ? '' : 's'}`;
}
