/**
 * What only a real socket shows (the other service tests go in-process): a body over its limit
 * answers 413 and the client, still sending, reads that answer (the service reads the rest and
 * drops it) instead of a connection reset, with a Content-Length or chunked (the CRM's sender and
 * browsers use fetch-like clients: undici here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody, WebhookSaved } from '../../src/service/index.js';
import { signHook, startTestService, type SignedIn, type TestService } from '../helpers/service.js';

let s: TestService;
let session: SignedIn;
let secret = '';
beforeAll(async () => {
  s = await startTestService({ contacts: 20, socket: true });
  session = await s.login();
  const hook = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac' } });
  expect(hook.status).toBe(200);
  secret = hook.json.secret ?? '';
});
afterAll(async () => s.close());

/** A request with a body by fetch (undici): `chunked` streams it (no Content-Length), in 16 KiB pieces. */
async function send(method: string, path: string, body: string, headers: Record<string, string>, chunked: boolean): Promise<{ status: number; text: string }> {
  const bytes = Buffer.from(body);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 16 * 1024) controller.enqueue(bytes.subarray(i, i + 16 * 1024));
      controller.close();
    },
  });
  const res = await fetch(`${s.origin}${path}`, { method, headers, body: chunked ? stream : body, ...(chunked ? { duplex: 'half' } : {}) } as RequestInit);
  return { status: res.status, text: await res.text() };
}

describe('a body over its limit, over a socket', () => {
  it('the CRM webhook (64 KiB) and a JSON route (1 MiB) answer 413 to a 5 MB body, sent whole or chunked; the next request is answered', async () => {
    const padding = 'x'.repeat(5 * 1024 * 1024);
    const hookBody = JSON.stringify({ crm_account_id: '4876000000000001', status: 'Churned', padding });
    const policyBody = JSON.stringify({ text: padding });
    for (const chunked of [false, true]) {
      const hook = await send('POST', `/hooks/crm/${s.organization}`, hookBody, { 'content-type': 'application/json', ...signHook(secret, hookBody, Math.floor(s.h.clock.now() / 1000)) }, chunked);
      expect(hook.status, `webhook, chunked ${chunked}: ${hook.text}`).toBe(413);
      expect((JSON.parse(hook.text) as ErrorBody).error).toBe('the body is larger than 65536 bytes');
      const policy = await send('PUT', `/api/orgs/${s.organization}/policy`, policyBody, { 'content-type': 'application/json', cookie: `sunset_session=${session.token}`, 'x-csrf-token': session.csrfToken }, chunked);
      expect(policy.status, `policy, chunked ${chunked}: ${policy.text}`).toBe(413);
      expect((JSON.parse(policy.text) as ErrorBody).error).toBe('the body is larger than 1048576 bytes');
    }
    expect(await s.store.events(s.organization, 10)).toEqual([]);
    expect(await s.h.journal.policy(s.organization)).toBeUndefined();
    // The next request (on a kept-alive connection of fetch's pool) is answered.
    const small = JSON.stringify({ text: `organization_id: "${s.organization}"\ninactivity: 24 months\n` });
    const ok = await send('PUT', `/api/orgs/${s.organization}/policy`, small, { 'content-type': 'application/json', cookie: `sunset_session=${session.token}`, 'x-csrf-token': session.csrfToken }, false);
    expect(ok.status, ok.text).toBe(200);
  });
});
