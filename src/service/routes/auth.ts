/**
 * Signing in and out (docs/service.md, "Sign-in and security"): the sign-in page and form, with a
 * limit of ten failed sign-ins a minute per address; logout; the session the page reads its CSRF
 * token from.
 */
import { Hono } from 'hono';
import type { ErrorBody, SessionView } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { clientAddress, HttpError, LOGIN_MAX_BODY, readForm, sameOrigin, setSessionCookie, type ServiceEnv, type SignedInEnv } from '../http.js';
import { checkPassword, DUMMY_HASH } from '../passwords.js';

/** The sign-in page and form: open to anyone (after the Host check). */
export function loginRoutes(ctx: ServiceContext) {
  const { store, clock, options } = ctx;
  const sessionTtl = options.sessionTtlMs ?? 12 * 3_600_000;
  /** Sign-in attempts per address in the last minute: failed ones and those still being checked. */
  const attemptsByAddress = new Map<string, Array<{ at: number }>>();

  return new Hono<ServiceEnv>()
    .get('/login', (c) => c.body(ctx.ui('login.html'), 200, { 'content-type': 'text/html; charset=utf-8' }))
    .post('/login', async (c) => {
      if (!sameOrigin(c)) throw new HttpError(403, 'cross-site sign-in refused');
      const ip = clientAddress(c);
      const form = await readForm(c, LOGIN_MAX_BODY);
      // Counted before the (slow) password check, with no await between the count and the mark:
      // attempts in flight at once each see the others, so parallel guesses cannot slip past the
      // limit. A failed attempt keeps its mark for the minute; a success removes only its own.
      const attempts = (attemptsByAddress.get(ip) ?? []).filter((a) => a.at > clock.now() - 60_000);
      if (attempts.length >= 10) {
        attemptsByAddress.set(ip, attempts);
        throw new HttpError(429, 'too many failed sign-ins; wait a minute');
      }
      const attempt = { at: clock.now() };
      attemptsByAddress.set(ip, [...attempts, attempt]);
      let failed = false;
      try {
        const username = form.get('username') ?? '';
        const user = await store.user(username);
        // An unknown user costs the same scrypt as a known one: timing does not tell which names exist.
        const { ok, upgraded } = await checkPassword(form.get('password') ?? '', user?.passwordHash ?? DUMMY_HASH);
        if (!ok || !user) {
          failed = true;
          return c.redirect('/login?error=1', 303);
        }
        // A hash of an earlier, cheaper cost: today's takes its place (the sessions stay).
        if (upgraded) await store.upgradePasswordHash(username, user.passwordHash, upgraded);
        const created = await store.createSession(username, clock.now(), sessionTtl);
        setSessionCookie(c, created.token, Math.floor(sessionTtl / 1000), options.secureCookies === true);
        return c.redirect('/', 303);
      } finally {
        // Not a failed guess (the right password, or the check itself broke): its own mark goes, no other.
        if (!failed) {
          const left = (attemptsByAddress.get(ip) ?? []).filter((a) => a !== attempt);
          if (left.length > 0) attemptsByAddress.set(ip, left);
          else attemptsByAddress.delete(ip);
        }
      }
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
