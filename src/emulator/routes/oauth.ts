/**
 * The accounts server: `POST /oauth/v2/token` and `POST /oauth/v2/token/revoke` (reference §7).
 * It answers in its own shape, not Zoho Books' envelope: `{"error": "invalid_code"}` (often with
 * HTTP 200), and `cache-control: no-store` on every answer.
 */
import type { ApiDefinition } from '../api.js';
import { formParams } from '../body.js';
import type { OAuthContext, OAuthRoute } from '../context.js';
import { HttpError } from '../http-error.js';

export const OAUTH_PATH = '/oauth/v2';

/** A refusal from the accounts server: `{"error": "<error>"}`. */
export class OAuthError extends HttpError {
  constructor(status: number, readonly error: string) {
    super(error, status);
  }

  override body(): Record<string, unknown> {
    return { error: this.error };
  }
}

/** Form or query parameters; a body that cannot be read is `invalid_request`. */
function params(ctx: OAuthContext): URLSearchParams {
  try {
    return formParams(ctx.req);
  } catch {
    throw new OAuthError(400, 'invalid_request');
  }
}

const routes: ReadonlyArray<[string, string, OAuthRoute]> = [
  [
    'POST',
    '/token',
    {
      handler(ctx) {
        const outcome = ctx.authority.token(params(ctx), ctx.origin, ctx.now);
        return outcome.ok ? { body: outcome.body } : { status: outcome.status, body: outcome.body };
      },
    },
  ],
  [
    'POST',
    '/token/revoke',
    {
      handler(ctx) {
        const token = params(ctx).get('token') ?? '';
        return { body: ctx.authority.revoke(token) ? { status: 'success' } : { error: 'invalid_token' } };
      },
    },
  ],
];

export const oauthApi: ApiDefinition<OAuthRoute> = {
  prefix: OAUTH_PATH,
  routes,
  headers: { 'cache-control': 'no-store' },
  notFound: () => new OAuthError(404, 'invalid_url'),
  // Unlike Books' 405, no Allow header.
  methodNotAllowed: () => new OAuthError(405, 'method_not_allowed'),
};
