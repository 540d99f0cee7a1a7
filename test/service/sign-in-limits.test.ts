/**
 * Sign-in resists guessing (issue 12; docs/service.md, "Sign-in and security"): failed sign-ins
 * counted per user name and per client address in the database, a growing wait (429 with
 * Retry-After) from the 5th failure in 15 minutes, a 15-minute lock at the 10th, a right password
 * refused meanwhile; unknown names answered exactly as known ones; a success clearing the name's
 * failures but not an address's other ones; parallel guesses held to the same count; the lock
 * logged and shown to admins (`sunset users list`, `users unlock`, as separate processes on the
 * same database). The real service over a loopback socket, each client from its own address
 * (127.0.0.N: Linux routes all of 127/8 to lo), on the service's emulated clock; SQLite files and
 * (the postgres project) PostgreSQL.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { addressKey, liveState, SIGN_IN_LIMITS, signInSubject, tryAgainIn } from '../../src/service/index.js';
import { createHarness, runMain, type Exit } from '../helpers/cli.js';
import { PASSWORD, passwordHash, startTestService, USER, type TestService } from '../helpers/service.js';

const WRONG = 'wrong password, guessed';

const started: TestService[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});
async function fresh(): Promise<TestService> {
  const s = await startTestService({ contacts: 5, socket: true });
  started.push(s);
  return s;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A sign-in over the service's socket from a loopback address of our choosing: the service sees that client address. */
function signInFrom(s: TestService, from: string, username: string, password: string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(s.origin);
  const body = new URLSearchParams({ username, password }).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: url.hostname, port: url.port, path: '/login', method: 'POST', localAddress: from, agent: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const failed = (a: Answer): boolean => a.status === 303 && a.headers.location === '/login?error=1' && a.headers['set-cookie'] === undefined;
const signedIn = (a: Answer): boolean => a.status === 303 && a.headers.location === '/' && /^sunset_session=/.test(a.headers['set-cookie']?.[0] ?? '');
const refused = (a: Answer): string => `${a.status} ${a.headers['retry-after']}${a.headers['set-cookie'] ? ' with a cookie' : ''}`;

/** One attempt, and when it is refused for a while (not locked), the same again once the wait is over. */
async function whenAllowed(s: TestService, attempt: () => Promise<Answer>): Promise<Answer> {
  for (;;) {
    const answer = await attempt();
    if (answer.status !== 429) return answer;
    const wait = Number(answer.headers['retry-after']);
    expect(wait, 'a wait, not a lock').toBeLessThan(SIGN_IN_LIMITS.lockMs / 1000);
    await s.advance(wait);
  }
}

/**
 * Failures as a failed sign-in leaves them (its claim, before the password is checked), each once
 * the wait of the one before is over: the walk the first test makes over HTTP, without paying a
 * scrypt for each step. Returns the time of the last.
 */
async function failuresOf(s: TestService, attempts: Array<[name: string, address: string]>): Promise<number> {
  const waits = [0, 0, 0, 0, 0, 15, 30, 60, 120, 240];
  let at = s.h.clock.now();
  for (const [i, [name, address]] of attempts.entries()) {
    at += waits[i]! * 1000;
    expect((await s.store.claimSignIn(name, address, at)).allowed, `attempt ${i + 1}`).toBe(true);
  }
  await s.advance((at - s.h.clock.now()) / 1000);
  return at;
}

describe('a name that keeps failing', () => {
  it('waits 15 s after its 5th failure, doubling to 4 min, and its 10th locks it for 15 minutes even for the right password; an unknown name gets the same answers', async () => {
    const s = await fresh();
    await s.store.addUser('colleague', await passwordHash(), s.h.clock.now());
    // Every attempt from another address, so only the names count. `admin` exists, `ghost` does not.
    let host = 10;
    const next = (): string => `127.0.0.${host++}`;
    const both = async (password: string, headers: Record<string, string> = {}): Promise<[Answer, Answer]> => [
      await signInFrom(s, next(), USER, password, headers),
      await signInFrom(s, next(), 'ghost', password, headers),
    ];
    // Four failures each, as failed sign-ins leave them (a claim each: see failuresOf), then the 5th over HTTP.
    for (let i = 0; i < 4; i++) for (const name of [USER, 'ghost']) expect((await s.store.claimSignIn(name, next(), s.h.clock.now())).allowed).toBe(true);
    for (const a of await both(WRONG)) expect(failed(a), `failure 5: ${refused(a)}`).toBe(true);
    for (const wait of [15, 30, 60, 120, 240]) {
      // Refused (the right password too) until the wait is over; then its next failure doubles it.
      const early = await both(PASSWORD);
      for (const a of early) expect(refused(a)).toBe(`429 ${wait}`);
      await s.advance(wait - 1);
      for (const a of await both(PASSWORD)) expect(refused(a)).toBe('429 1');
      await s.advance(1);
      for (const a of await both(WRONG)) expect(failed(a), refused(a)).toBe(true);
    }
    // The 10th failure locked both names for 15 minutes: the right password does not sign in.
    const [known, unknown] = await both(PASSWORD, { accept: 'application/json' });
    for (const a of [known, unknown]) {
      expect(refused(a)).toBe('429 900');
      expect(JSON.parse(a.text)).toEqual({ error: 'Too many failed sign-ins; try again in 15 minutes.' });
    }
    expect(unknown.text).toBe(known.text);
    // A browser gets the sign-in page saying so (status 429 still), no stack trace.
    const [page, ghostPage] = await both(PASSWORD, { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(429);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<p class="login-error login-notice" id="/" role="alert" data-testid="login-refused">Too many failed sign-ins; try again in 15 minutes.</p>');
    expect(page.text).toContain('data-testid="login-form"');
    expect(page.text).not.toContain('data-testid="login-error"');
    expect(page.text).not.toMatch(/\bat .*\.[jt]s:\d+/);
    expect(ghostPage.text).toBe(page.text);
    // Other names are not affected.
    expect(signedIn(await signInFrom(s, next(), 'colleague', PASSWORD))).toBe(true);
    await s.advance(14 * 60);
    for (const a of await both(PASSWORD)) expect(refused(a)).toBe('429 60');
    await s.advance(60);
    expect(signedIn(await signInFrom(s, next(), USER, PASSWORD))).toBe(true);
    // Signed in: its failures are gone; the unknown name's lock has ended, its next failure starts anew.
    expect((await s.store.signInStates(s.h.clock.now())).filter((r) => r.kind === 'user')).toEqual([]);
    expect(failed(await signInFrom(s, next(), 'ghost', WRONG))).toBe(true);
    expect((await s.store.signInStates(s.h.clock.now())).filter((r) => r.kind === 'user')).toEqual([
      expect.objectContaining({ subject: signInSubject('user', 'ghost'), failures: 1, blockedUntil: null, locked: false }),
    ]);

    // Each lock is logged once, as a warning, without the password; an unknown name is not written out.
    const warnings = s.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({ user: USER, failures: 10, msg: expect.stringMatching(/^sign-in locked for 15 minutes after 10 failed sign-ins/) }),
      expect.objectContaining({ user: '(not a user)', failures: 10 }),
    ]);
    const logs = s.logs.join('\n');
    for (const secret of [PASSWORD, WRONG, 'ghost', await passwordHash()]) expect(logs).not.toContain(secret);
    // The table keeps a name as its SHA-256: whatever was typed as a name is not stored.
    expect(JSON.stringify(await s.h.db.all('SELECT * FROM sign_in_failures'))).not.toContain('ghost');
  });
});

describe('an address that keeps failing', () => {
  it('is slowed and then locked whatever names it tries, its own sign-ins in between forgiving only their own failures: no name gets locked from it first', async () => {
    const s = await fresh();
    await s.store.addUser('insider', await passwordHash(), s.h.clock.now());
    const attacker = '127.0.0.66';
    // Someone with an account guesses other names from one address, 7 so far, and signs in as
    // themselves to clear the address's count: the sign-in takes off only the insider's own.
    await failuresOf(s, Array.from({ length: 7 }, (_, i): [string, string] => [i % 2 ? USER : `guess-${i}`, attacker]));
    expect(refused(await signInFrom(s, attacker, 'insider', PASSWORD))).toBe('429 60');
    await s.advance(60);
    expect(signedIn(await signInFrom(s, attacker, 'insider', PASSWORD))).toBe(true);
    const address = async () => (await s.store.signInStates(s.h.clock.now())).find((r) => r.kind === 'address' && r.subject === attacker);
    expect(await address()).toMatchObject({ failures: 7, locked: false });
    // Its 8th, 9th and 10th failures, each after its wait (no name has more than 4): locked, for any name, the insider's too.
    expect(failed(await whenAllowed(s, () => signInFrom(s, attacker, 'guess-8', WRONG)))).toBe(true);
    expect(failed(await whenAllowed(s, () => signInFrom(s, attacker, 'guess-9', WRONG)))).toBe(true);
    expect(failed(await whenAllowed(s, () => signInFrom(s, attacker, USER, WRONG)))).toBe(true);
    expect(refused(await signInFrom(s, attacker, 'insider', PASSWORD))).toBe('429 900');
    expect(refused(await signInFrom(s, attacker, USER, PASSWORD))).toBe('429 900');
    expect(await address()).toMatchObject({ failures: 10, locked: true });
    // The names it tried: none locked or slowed (admin has 4 failures); from elsewhere, admin signs in.
    const users = (await s.store.signInStates(s.h.clock.now())).filter((r) => r.kind === 'user');
    expect(users.every((r) => !r.locked && r.blockedUntil === null)).toBe(true);
    expect(users.find((r) => r.subject === signInSubject('user', USER))?.failures).toBe(4);
    expect(signedIn(await signInFrom(s, '127.0.0.67', USER, PASSWORD))).toBe(true);
  });

  it('a right password clears the name\'s failures and takes as many off its address, whose other failures stay', async () => {
    const s = await fresh();
    const office = '127.0.0.80';
    // Over HTTP, two failures of one name and one of another; two more of the first left by claims.
    expect(failed(await signInFrom(s, office, USER, WRONG))).toBe(true);
    expect(failed(await signInFrom(s, office, 'nobody', WRONG))).toBe(true);
    expect(failed(await signInFrom(s, office, USER, WRONG))).toBe(true);
    await failuresOf(s, [['nobody', office], [USER, office]]);
    expect(refused(await signInFrom(s, office, USER, PASSWORD))).toBe('429 15');
    await s.advance(15);
    expect(signedIn(await signInFrom(s, office, USER, PASSWORD))).toBe(true);
    const states = await s.store.signInStates(s.h.clock.now());
    expect(states.map((r) => [r.kind, r.subject, r.failures, r.blockedUntil])).toEqual([
      ['address', office, 2, null],
      ['user', signInSubject('user', 'nobody'), 2, null],
    ]);
  });
});

describe('guesses sent at once', () => {
  it('60 wrong passwords, 4 in flight from one address: 5 are checked, 55 refused, and the right password after them too', async () => {
    const s = await fresh();
    const answers: Answer[] = [];
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < 60) {
        const i = next++;
        answers.push(await signInFrom(s, '127.0.0.90', USER, `${WRONG} ${i}`));
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    expect(answers.filter(failed), 'guesses whose password was checked').toHaveLength(5);
    expect(answers.filter((a) => a.status === 429 && a.headers['set-cookie'] === undefined)).toHaveLength(55);
    expect(refused(await signInFrom(s, '127.0.0.90', USER, PASSWORD))).toBe('429 15');
    expect(await s.h.db.all('SELECT token_hash FROM sessions')).toEqual([]);
  });
});

describe('the admin\'s view: sunset users list and unlock (separate processes on the same database)', () => {
  const cli = createHarness();
  afterAll(async () => cli.cleanupAll());

  it('lists users with their failures and locks, unlocks a user and an address; the service lets them in again', async () => {
    const s = await fresh();
    const dir = cli.temp('sunset-users-list-');
    const users = (args: string[]): Promise<Exit> => cli.run(['users', ...args, '--database', s.h.dbPath], { cwd: dir, env: { SUNSET_HOME: dir } });
    // The CLI reads the wall clock: the service's (emulated, frozen) clock is moved up to it, so
    // that the lock below starts about now for both.
    await s.advance(Math.max(0, Math.floor((Date.now() - 465_000 - s.h.clock.now()) / 1000)));
    const now = s.h.clock.now();
    await s.store.addUser('bob', await passwordHash(), now);
    // Ten failures of admin from 127.0.0.5, then two of bob from two addresses.
    const lockedAt = await failuresOf(s, Array.from({ length: 10 }, (): [string, string] => [USER, '127.0.0.5']));
    for (let i = 0; i < 2; i++) await s.store.claimSignIn('bob', `127.0.0.${6 + i}`, lockedAt);
    expect(refused(await signInFrom(s, '127.0.0.9', USER, PASSWORD))).toBe('429 900');

    const listed = await users(['list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const view = JSON.parse(listed.stdout) as { users: Array<Record<string, unknown>>; addresses: Array<Record<string, unknown>> };
    expect(view.users).toEqual([
      { username: USER, role: 'admin', clients: null, invitedUntil: null, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), hash: 'current', failures: 10, lastFailureAt: new Date(lockedAt).toISOString(), signIn: 'locked', until: new Date(lockedAt + 900_000).toISOString() },
      { username: 'bob', role: 'admin', clients: null, invitedUntil: null, createdAt: new Date(now).toISOString(), hash: 'current', failures: 2, lastFailureAt: new Date(lockedAt).toISOString(), signIn: 'open', until: null },
    ].sort((a, b) => a.username.localeCompare(b.username)));
    expect(view.addresses).toEqual([
      { address: '127.0.0.5', failures: 10, lastFailureAt: new Date(lockedAt).toISOString(), signIn: 'locked', until: new Date(lockedAt + 900_000).toISOString() },
      { address: '127.0.0.6', failures: 1, lastFailureAt: new Date(lockedAt).toISOString(), signIn: 'open', until: null },
      { address: '127.0.0.7', failures: 1, lastFailureAt: new Date(lockedAt).toISOString(), signIn: 'open', until: null },
    ]);
    const text = await users(['list']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${USER} +admin +all +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC +10 +locked until ${new Date(lockedAt + 900_000).toISOString().slice(0, 19).replace('T', ' ')} UTC \\(in 1[45] min\\) +current$`, 'm'));
    expect(text.stdout).toMatch(/^bob +.* 2 +open +current$/m);
    expect(text.stdout).toMatch(/^127\.0\.0\.5 +10 +locked until /m);
    // Nothing secret in what it prints.
    for (const out of [listed.stdout, text.stdout, listed.stderr, text.stderr]) {
      expect(out).not.toContain(await passwordHash());
      expect(out).not.toContain('scrypt$');
    }

    // Bad input: a clear error, nothing changed.
    const nobody = await users(['unlock', 'nobody']);
    expect(nobody.code).toBe(3);
    expect(nobody.stderr).toMatch(/There is no user nobody in .*`sunset users list` lists them/);
    for (const args of [['unlock'], ['unlock', USER, '--address', '127.0.0.5'], ['unlock', '--address', 'not-an-address'], ['list', USER], ['lock', USER], ['list', '--address', '127.0.0.5']]) {
      const bad = await runMain(['users', ...args, '--database', s.h.dbPath]);
      expect(bad.code, `${args.join(' ')}: ${bad.stderr}`).toBe(2);
      expect(bad.stderr, args.join(' ')).toMatch(/^sunset: /);
      expect(bad.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
    expect(refused(await signInFrom(s, '127.0.0.9', USER, PASSWORD))).toBe('429 900');

    const unlocked = await users(['unlock', USER]);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toBe(`${USER} may sign in again: their failed sign-ins are forgotten.\n`);
    expect((await users(['unlock', USER])).stdout).toBe(`${USER} has no recent failed sign-ins; nothing changed.\n`);
    // The user is unlocked; the address that failed ten times is still locked, until it is unlocked too.
    expect(refused(await signInFrom(s, '127.0.0.5', USER, PASSWORD))).toBe('429 900');
    expect(signedIn(await signInFrom(s, '127.0.0.9', USER, PASSWORD))).toBe(true);
    const address = await users(['unlock', '--address', '127.0.0.5']);
    expect(address.code, address.stderr).toBe(0);
    expect(address.stdout).toBe('127.0.0.5 may sign in again: its failed sign-ins are forgotten.\n');
    expect(signedIn(await signInFrom(s, '127.0.0.5', USER, PASSWORD))).toBe(true);
    expect((await users(['list', '--json'])).stdout).toContain('"username":"admin","role":"admin","clients":null,"invitedUntil":null,"createdAt"');
  });
});

describe('the rules, read from a stored row', () => {
  const { windowMs, lockMs } = SIGN_IN_LIMITS;
  it('a window or a lock that has ended counts nothing; an IPv6 client counts by its /64; waits read in seconds, then minutes', () => {
    const at = 1_700_000_000_000;
    expect(liveState({ failures: 3, windowStart: at, lastFailedAt: at, blockedUntil: 0 }, at + windowMs - 1)).toEqual({ failures: 3, lastFailedAt: at, blockedUntil: null, locked: false });
    expect(liveState({ failures: 3, windowStart: at, lastFailedAt: at, blockedUntil: 0 }, at + windowMs).failures).toBe(0);
    expect(liveState({ failures: 10, windowStart: at, lastFailedAt: at, blockedUntil: at + lockMs }, at + lockMs - 1)).toMatchObject({ failures: 10, locked: true, blockedUntil: at + lockMs });
    expect(liveState({ failures: 10, windowStart: at, lastFailedAt: at, blockedUntil: at + lockMs }, at + lockMs).failures).toBe(0);
    expect(liveState({ failures: 6, windowStart: at, lastFailedAt: at, blockedUntil: at + 30_000 }, at + 1)).toMatchObject({ locked: false, blockedUntil: at + 30_000 });

    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:aa:bb:1:2:3:4')).toBe('2001:db8:aa:bb::/64');
    expect(addressKey('2001:db8:aa:bb::99')).toBe(addressKey('2001:0DB8:00aa:bb:ffff:ffff:ffff:ffff'));
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:db8:aa:bc::1')).not.toBe(addressKey('2001:db8:aa:bb::1'));

    expect(tryAgainIn(15_000)).toBe('try again in 15 seconds');
    expect(tryAgainIn(60_000)).toBe('try again in 1 minute');
    expect(tryAgainIn(14 * 60_000 + 1)).toBe('try again in 15 minutes');
  });
});
