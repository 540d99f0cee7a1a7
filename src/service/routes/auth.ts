/**
 * Signing in and out (docs/service.md, "Sign-in and security"): the sign-in page and form, with
 * failed sign-ins counted per user name and per address in the database (src/service/sign-in-limits.ts:
 * delays, then a lock; 429 with Retry-After); logout; the session the page reads its CSRF token from.
 */
import { Hono, type Context } from 'hono';
import type { ErrorBody, SessionView } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { clientAddress, HttpError, LOGIN_MAX_BODY, readForm, sameOrigin, setSessionCookie, type ServiceEnv, type SignedInEnv } from '../http.js';
import { checkPassword, DUMMY_HASH } from '../passwords.js';
import { addressKey, SIGN_IN_LIMITS, tryAgainIn } from '../sign-in-limits.js';

/** The sign-in page's message, between these marks, is replaced on a refusal. */
const NOTICE = /<!--notice-->[\s\S]*<!--\/notice-->/;

/** The sign-in page and form: open to anyone (after the Host check). */
export function loginRoutes(ctx: ServiceContext) {
  const { store, clock, options, logger } = ctx;
  const sessionTtl = options.sessionTtlMs ?? 12 * 3_600_000;

  /** A refused attempt: 429 with Retry-After; a browser gets the sign-in page saying how long to wait. */
  const tooMany = (c: Context<ServiceEnv>, waitMs: number): Response => {
    const message = `Too many failed sign-ins; ${tryAgainIn(waitMs)}.`;
    const headers = { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) };
    if (!/\btext\/html\b/.test(c.req.header('accept') ?? '')) return c.json<ErrorBody>({ error: message }, 429, headers);
    const page = ctx.ui('login.html').replace(NOTICE, `<p class="login-error login-notice" id="/" role="alert" data-testid="login-refused">${message}</p>`);
    return c.body(page, 429, { ...headers, 'content-type': 'text/html; charset=utf-8' });
  };

  return new Hono<ServiceEnv>()
    .get('/login', (c) => c.body(ctx.ui('login.html'), 200, { 'content-type': 'text/html; charset=utf-8' }))
    .post('/login', async (c) => {
      if (!sameOrigin(c)) throw new HttpError(403, 'cross-site sign-in refused');
      const address = addressKey(clientAddress(c));
      const form = await readForm(c, LOGIN_MAX_BODY);
      const username = form.get('username') ?? '';
      // Counted as a failure before the (slow) password check, in one statement per name and
      // address: guesses sent at once each see the others, in this process or another. A name or
      // an address that is waiting or locked is refused here, its password never checked.
      const now = clock.now();
      const claim = await store.claimSignIn(username, address, now);
      if (!claim.allowed) return tooMany(c, claim.retryAt - now);
      const user = await store.user(username);
      // An unknown user costs the same scrypt as a known one: timing does not tell which names exist.
      const { ok, upgraded } = await checkPassword(form.get('password') ?? '', user?.passwordHash ?? DUMMY_HASH);
      if (!ok || !user) {
        for (const counted of claim.counted) {
          if (counted.failures !== SIGN_IN_LIMITS.lockAfter) continue;
          // Never the password; a name only if it is a user's (a password typed as the name stays out of the log).
          const who = counted.kind === 'user' ? { user: user ? username : '(not a user)' } : { address: address || '(in-process)' };
          logger.warn({ ...who, failures: counted.failures, lockedUntil: new Date(counted.blockedUntil).toISOString() }, `sign-in locked for ${SIGN_IN_LIMITS.lockMs / 60_000} minutes after ${counted.failures} failed sign-ins (\`sunset users unlock\` ends it)`);
        }
        return c.redirect('/login?error=1', 303);
      }
      await store.signInSucceeded(username, address, clock.now());
      // A hash of an earlier, cheaper cost: today's takes its place (the sessions stay).
      if (upgraded) await store.upgradePasswordHash(username, user.passwordHash, upgraded);
      const created = await store.createSession(username, clock.now(), sessionTtl);
      setSessionCookie(c, created.token, Math.floor(sessionTtl / 1000), options.secureCookies === true);
      return c.redirect('/', 303);
    })
    .all('/login', (c) => c.json<ErrorBody>({ error: 'use GET or POST' }, 405, { allow: 'GET, POST' }));
}

/** Logout and the session's view: signed in (the app checked the session and the CSRF token). */
export function sessionRoutes(ctx: ServiceContext) {
  const { store, options } = ctx;
  return new Hono<SignedInEnv>()
    .post('/logout', async (c) => {
      await store.deleteSession(c.get('session').token);
      setSessionCookie(c, '', 0, options.secureCookies === true);
      return c.redirect('/login', 303);
    })
    .get('/api/session', (c) => {
      const session = c.get('session');
      return c.json<SessionView>({ user: session.username, csrfToken: session.csrfToken });
    });
}
