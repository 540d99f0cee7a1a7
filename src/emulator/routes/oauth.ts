/** The accounts server: `POST /oauth/v2/token` and `POST /oauth/v2/token/revoke` (reference §7). */
import { formParams } from '../body.js';
import type { Emulator } from '../emulator.js';
import type { EmulatorRequest, EmulatorResponse } from '../types.js';

const JSON_TYPE = 'application/json;charset=UTF-8';

function reply(status: number, body: unknown): EmulatorResponse {
  return { status, headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store' }, body: JSON.stringify(body) };
}

export function handleOAuth(emulator: Emulator, req: EmulatorRequest, path: string, origin: string): EmulatorResponse {
  const normalized = path.replace(/\/+$/, '');
  if (normalized !== '/oauth/v2/token' && normalized !== '/oauth/v2/token/revoke') {
    return reply(404, { error: 'invalid_url' });
  }
  if (req.method !== 'POST') return reply(405, { error: 'method_not_allowed' });
  let params: URLSearchParams;
  try {
    params = formParams(req);
  } catch {
    return reply(400, { error: 'invalid_request' });
  }
  const now = emulator.clock.now();
  if (normalized === '/oauth/v2/token/revoke') {
    const token = params.get('token') ?? '';
    return emulator.authority.revoke(token) ? reply(200, { status: 'success' }) : reply(200, { error: 'invalid_token' });
  }
  const outcome = emulator.authority.token(params, origin, now);
  return outcome.ok ? reply(200, outcome.body) : reply(outcome.status, outcome.body);
}
