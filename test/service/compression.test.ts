/**
 * Answers are compressed where the client accepts it (hono's compress middleware, gzip or
 * deflate: src/service/app.ts). The review's rows document of a real plan (a scan of 3,000
 * emulated contacts with every active one dormant after a day) is asked for in-process, so the
 * test reads the bytes as sent: gzip when accepted, the same JSON once inflated, a fraction of the
 * size (printed: `[compression] ...`); as is when the client asks for nothing. The event stream is
 * never compressed (a compressor would hold its events back): over a real socket its first bytes
 * arrive at once even when the client accepts gzip, while an ordinary answer there is gzipped.
 * Only answers to GET are compressed: the others are small, and gzip doubled the CRM webhook's
 * acceptance latency under bursts.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanRows } from '../../src/service/index.js';
import { startTestService, until, type SignedIn, type TestService } from '../helpers/service.js';

/** What Chromium sends. */
const BROWSER_ACCEPTS = 'gzip, deflate, br, zstd';

describe('the rows document of a large plan', () => {
  let s: TestService;
  let session: SignedIn;
  let planId = '';
  beforeAll(async () => {
    s = await startTestService({ contacts: 3000 });
    session = await s.login();
    const policy = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text: `organization_id: "${s.organization}"\ninactivity: 1 days\nmax_changes: 100000\n` } });
    expect(policy.status, policy.text).toBe(200);
    expect((await session.request('POST', `/api/orgs/${s.organization}/scan`)).status).toBe(202);
    planId = await until(async () => (s.service.runner.activeJobs().length === 0 ? s.h.journal.latestPlanId(s.organization) : undefined), 'the scan and plan', 60_000);
  });
  afterAll(async () => s.close());

  /** The answer's bytes exactly as the app sent them (in-process: nothing inflates them on the way). */
  const rowsAnswer = async (acceptEncoding?: string): Promise<{ encoding: string | null; vary: string | null; bytes: Buffer; headers: Headers }> => {
    const res = await s.transport(`${s.origin}/api/plans/${planId}/rows`, {
      headers: { cookie: `sunset_session=${session.token}`, ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }) },
    });
    expect(res.status).toBe(200);
    return { encoding: res.headers.get('content-encoding'), vary: res.headers.get('vary'), bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  };

  it('is gzipped for a browser, the same JSON once inflated, at most a fifth of its size', async () => {
    const plain = await rowsAnswer();
    expect(plain.encoding).toBeNull();
    const doc = JSON.parse(plain.bytes.toString('utf8')) as PlanRows;
    const plan = (await s.h.journal.getPlan(planId))!;
    expect(doc.rows).toHaveLength(plan.steps.length + plan.exclusionCount);
    expect(doc.rows.length).toBeGreaterThan(2000);

    const gzipped = await rowsAnswer(BROWSER_ACCEPTS);
    expect(gzipped.encoding).toBe('gzip');
    expect(gzipped.vary).toMatch(/accept-encoding/i);
    expect(gzipped.headers.get('content-type')).toMatch(/^application\/json/);
    // Compressed answers carry the security headers like any other.
    expect(gzipped.headers.get('x-frame-options')).toBe('DENY');
    expect(gzipped.headers.get('cache-control')).toBe('no-store');
    expect(gunzipSync(gzipped.bytes).equals(plain.bytes)).toBe(true);
    expect(gzipped.bytes.length).toBeLessThan(plain.bytes.length / 5);
    console.log(
      `[compression] rows document of a ${doc.rows.length}-row plan: ${plain.bytes.length} bytes as is, ${gzipped.bytes.length} gzipped ` +
        `(${((100 * gzipped.bytes.length) / plain.bytes.length).toFixed(1)} %)`,
    );
  });

  it('deflate when only deflate is accepted; as is for identity, for br alone (not offered), or with no Accept-Encoding', async () => {
    const plain = await rowsAnswer();
    const deflated = await rowsAnswer('deflate');
    expect(deflated.encoding).toBe('deflate');
    expect(inflateSync(deflated.bytes).equals(plain.bytes)).toBe(true);
    for (const accepts of ['identity', 'br', 'gzip;q=0, deflate;q=0']) {
      const answer = await rowsAnswer(accepts);
      expect(answer.encoding, accepts).toBeNull();
      expect(answer.bytes.equals(plain.bytes), accepts).toBe(true);
    }
  });
});

describe('over a socket', () => {
  let s: TestService;
  let session: SignedIn;
  beforeAll(async () => {
    s = await startTestService({ contacts: 20, socket: true });
    session = await s.login();
  });
  afterAll(async () => s.close());

  /** A GET with node:http, which neither asks for nor inflates compression unless told. */
  const get = (path: string, headers: Record<string, string>): Promise<IncomingMessage> => new Promise((resolve, reject) => {
    const u = new URL(path, s.origin);
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, headers: { host: u.host, ...headers } }, resolve);
    req.on('error', reject);
    req.end();
  });

  it('an ordinary answer is gzipped; the event stream is not, and its first bytes arrive at once', async () => {
    const cookie = `sunset_session=${session.token}`;
    const organizations = await get('/api/orgs', { cookie, 'accept-encoding': BROWSER_ACCEPTS });
    expect(organizations.statusCode).toBe(200);
    expect(organizations.headers['content-encoding']).toBe('gzip');
    const chunks: Buffer[] = [];
    for await (const chunk of organizations) chunks.push(chunk as Buffer);
    expect((JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as Array<{ organizationId: string }>).map((o) => o.organizationId)).toEqual(s.organizations);

    const events = await get('/api/events', { cookie, 'accept-encoding': BROWSER_ACCEPTS });
    try {
      expect(events.statusCode).toBe(200);
      expect(events.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(events.headers['content-encoding']).toBeUndefined();
      // A gzip stream would hold ": connected" back until more came or the stream ended.
      const first = await new Promise<string>((resolve, reject) => {
        events.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')));
        events.once('error', reject);
      });
      expect(first).toContain(': connected');
    } finally {
      events.destroy();
    }
  });

  it('answers to anything but GET are never compressed (a few dozen bytes each: a CRM burst paid for gzip)', async () => {
    const policy = await session.request<{ policy: { text: string; saved: boolean } }>('PUT', `/api/orgs/${s.organization}/policy`, {
      body: { text: `organization_id: "${s.organization}"\ninactivity: 24 months\n` },
      headers: { 'accept-encoding': BROWSER_ACCEPTS },
    });
    expect(policy.status, policy.text).toBe(200);
    expect(policy.json.policy.text).toContain('24 months');
    expect(policy.headers.get('content-encoding')).toBeNull();
    // The same client, a GET: compressed, so the header above was not lost on the way.
    const organizations = await session.request('GET', '/api/orgs', { headers: { 'accept-encoding': BROWSER_ACCEPTS } });
    expect(organizations.headers.get('content-encoding')).toBe('gzip');
    const hook = await s.fetch('POST', `/hooks/crm/${s.organization}`, { body: '{}', headers: { 'content-type': 'application/json', 'accept-encoding': BROWSER_ACCEPTS } });
    expect(hook.status).toBeGreaterThanOrEqual(400);
    expect(hook.headers.get('content-encoding')).toBeNull();
  });
});
