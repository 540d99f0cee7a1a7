/**
 * Passwords hashed with scrypt (a slow, memory-hard KDF), verified in constant time.
 *
 * The cost is OWASP's current minimum for scrypt (N = 2^17, r = 8, p = 1: 128 MiB and most of a
 * second of one core per hash), fixed here: nothing outside this file can lower it. Each stored
 * hash carries its own parameters (`scrypt$N$r$p$salt$key`), so a hash made under an earlier
 * cost (N = 2^15 before issue 12) still verifies; `checkPassword` then gives the hash of today's
 * cost to store in its place.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** Today's cost. */
export const SCRYPT_COST: Readonly<{ N: number; r: number; p: number }> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
const KEY = 32;
const SALT = 16;

/** What a stored hash may ask for: enough for any cost Sunset has used, bounded so a damaged row cannot ask for gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 16;
const MAX_P = 4;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // scrypt needs 128 * N * r bytes; node refuses more than maxmem (32 MiB by default).
    scrypt(password.normalize('NFKC'), salt, KEY, { N: n, r, p, maxmem: 256 * n * r }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function format(n: number, r: number, p: number, salt: Buffer, key: Buffer): string {
  return `scrypt$${n}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** `scrypt$N$r$p$salt$hash`, base64, at today's cost. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT);
  return format(SCRYPT_COST.N, SCRYPT_COST.r, SCRYPT_COST.p, salt, await derive(password, salt, SCRYPT_COST.N, SCRYPT_COST.r, SCRYPT_COST.p));
}

/**
 * A hash no password matches, at today's cost: checked against when the user does not exist, so
 * that an unknown name costs the same scrypt as a known one (timing does not tell which exist).
 */
export const DUMMY_HASH = format(SCRYPT_COST.N, SCRYPT_COST.r, SCRYPT_COST.p, Buffer.alloc(SALT), Buffer.alloc(KEY));

interface Parsed {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parse(stored: string): Parsed | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [n, r, p] = parts.slice(1, 4).map((x) => (/^[1-9]\d{0,7}$/.test(x!) ? Number(x) : NaN)) as [number, number, number];
  // N a power of two above 1 (scrypt's own rule), r and p small.
  if (!(n >= 2 && n <= MAX_N && (n & (n - 1)) === 0 && r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P)) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length === 0 || key.length !== KEY) return undefined;
  return { n, r, p, salt, key };
}

/** Whether a stored hash was made at today's cost (false for an earlier one, or a hash that is not one). */
export function isCurrentHash(stored: string): boolean {
  const parsed = parse(stored);
  return parsed !== undefined && parsed.n === SCRYPT_COST.N && parsed.r === SCRYPT_COST.r && parsed.p === SCRYPT_COST.p;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  return (await checkPassword(password, stored)).ok;
}

/**
 * Checks a password against a stored hash, in constant time for a given hash. `upgraded` is set
 * when the password is right and the hash was made at an earlier cost: the same password hashed
 * at today's cost, to store instead. For an earlier hash the new one is computed whether or not
 * the password is right (then thrown away), so a wrong guess takes as long as a right one.
 */
export async function checkPassword(password: string, stored: string): Promise<{ ok: boolean; upgraded?: string }> {
  const parsed = parse(stored);
  if (!parsed) return { ok: false };
  const key = await derive(password, parsed.salt, parsed.n, parsed.r, parsed.p);
  const ok = timingSafeEqual(key, parsed.key);
  if (isCurrentHash(stored)) return { ok };
  const upgraded = await hashPassword(password);
  return ok ? { ok, upgraded } : { ok };
}

/** A password worth having: at least 12 characters. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 12) return 'a password needs at least 12 characters';
  if (password.length > 1024) return 'that password is too long';
  return undefined;
}
