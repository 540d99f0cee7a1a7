/**
 * Signing in and out (docs/service.md, "Sign-in and security"): the sign-in page and form, with
 * failed sign-ins counted per user name and per address in the database (src/service/sign-in-limits.ts:
 * delays, then a lock; 429 with Retry-After); logout; the session the page reads its CSRF token from.
 */
import { Hono, type Context } from 'hono';
import type { ErrorBody, SessionView } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { clientAddress, HttpError, LOGIN_MAX_BODY, readForm, sameOrigin, setSessionCookie, type ServiceEnv, type SignedInEnv } from '../http.js';
import { checkPassword, DUMMY_HASH, hashPassword, passwordProblem } from '../passwords.js';
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
      // An invited user who has not set a password yet (an empty hash) cannot sign in, at the same cost.
      const { ok, upgraded } = await checkPassword(form.get('password') ?? '', user?.passwordHash || DUMMY_HASH);
      if (!ok || !user || user.passwordHash === '') {
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
    .all('/login', (c) => c.json<ErrorBody>({ error: 'use GET or POST' }, 405, { allow: 'GET, POST' }))

    // An invitation's link (an admin's `POST /api/users`): the person chooses their password, once.
    .get('/invite/:token', async (c) => {
      const found = await store.invitation(c.req.param('token'), clock.now());
      return c.body(invitePage(found?.username, undefined), found ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    })
    .post('/invite/:token', async (c) => {
      if (!sameOrigin(c)) throw new HttpError(403, 'cross-site request refused');
      const token = c.req.param('token');
      const found = await store.invitation(token, clock.now());
      if (!found) return c.body(invitePage(undefined, undefined), 404, { 'content-type': 'text/html; charset=utf-8' });
      const form = await readForm(c, LOGIN_MAX_BODY);
      const password = form.get('password') ?? '';
      const problem = password !== (form.get('again') ?? '') ? 'the two passwords differ' : passwordProblem(password);
      if (problem) return c.body(invitePage(found.username, `${problem[0]!.toUpperCase()}${problem.slice(1)}.`), 400, { 'content-type': 'text/html; charset=utf-8' });
      const username = await store.acceptInvitation(token, await hashPassword(password), clock.now());
      if (!username) return c.body(invitePage(undefined, undefined), 404, { 'content-type': 'text/html; charset=utf-8' });
      await ctx.recordAction(username, 'user.joined', null, username);
      logger.info({ user: username }, 'an invited user set their password');
      const created = await store.createSession(username, clock.now(), sessionTtl);
      setSessionCookie(c, created.token, Math.floor(sessionTtl / 1000), options.secureCookies === true);
      return c.redirect('/', 303);
    });
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The invitation page: a form to choose a password (username given), or why the link does not work. */
function invitePage(username: string | undefined, problem: string | undefined): string {
  const body = username === undefined
    ? '<p class="login-error login-notice" role="alert" data-testid="invite-invalid">This invitation link does not work: it was used already, it expired, or it was withdrawn. Ask an admin for a new one.</p><p><a href="/login">Sign in</a></p>'
    : `<p>You are invited to Sunset as <strong data-testid="invite-username">${escapeHtml(username)}</strong>. Choose a password (at least 12 characters) to finish.</p>
  ${problem ? `<p class="login-error login-notice" role="alert" data-testid="invite-problem">${escapeHtml(problem)}</p>` : ''}
  <form method="post" class="stack" data-testid="invite-form">
    <input type="text" name="username" value="${escapeHtml(username)}" autocomplete="username" hidden>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required autofocus data-testid="invite-password">
    <label for="again">The same password again</label>
    <input id="again" name="again" type="password" autocomplete="new-password" minlength="12" required data-testid="invite-again">
    <button type="submit" class="btn btn-primary" data-testid="invite-submit">Set the password and sign in</button>
  </form>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>Invitation · Sunset</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body class="login-page">
<main class="login-box">
  <h1 class="brand"><span class="brand-mark" aria-hidden="true"></span>Sunset</h1>
  ${body}
</main>
</body>
</html>
`;
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
      return c.json<SessionView>({ user: session.username, csrfToken: session.csrfToken, role: session.role, clients: session.role === 'admin' ? null : session.clients });
    });
}
