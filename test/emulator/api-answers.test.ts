/**
 * The emulator serves three APIs from one origin, each answering in its own shape: Books in Zoho's
 * `{code, message}` envelope, the accounts server (`/oauth/v2`) with `{error}` and
 * `cache-control: no-store`, the admin API (`/__emulator`) with `{error: "<message>"}`. These pin
 * the edges of their routing exactly (status, body, the headers that differ between them), so the
 * three can share one router and one error path without one borrowing another's answers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatorFetch } from '../../src/emulator/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';

const JSON_TYPE = 'application/json;charset=UTF-8';

interface Answer {
  status: number;
  body: unknown;
  contentType: string | null;
  cacheControl: string | null;
  allow: string | null;
}

let t: TestEmulator;

beforeEach(async () => {
  t = await startTestEmulator({ contacts: 10 });
});

afterEach(async () => {
  await t.close();
});

async function send(method: string, path: string, body?: string | Uint8Array): Promise<Answer> {
  const res = await fetch(`${t.origin}${path}`, { method, body });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? '' : (JSON.parse(text) as unknown),
    contentType: res.headers.get('content-type'),
    cacheControl: res.headers.get('cache-control'),
    allow: res.headers.get('allow'),
  };
}

/** An admin or Books answer: JSON, no cache-control, no Allow unless given. */
function plain(status: number, body: unknown, allow: string | null = null): Answer {
  return { status, body, contentType: JSON_TYPE, cacheControl: null, allow };
}

/** An accounts-server answer: JSON with `cache-control: no-store`, never an Allow header. */
function noStore(status: number, body: unknown): Answer {
  return { status, body, contentType: JSON_TYPE, cacheControl: 'no-store', allow: null };
}

const INVALID_URL = { code: 5, message: 'Invalid URL Passed' };

describe('the admin API', () => {
  it('answers an unknown path 404 and a wrong method 405 with {error}, naming the raw path', async () => {
    const hint = '; see GET /__emulator/info';
    expect(await send('GET', '/__emulator/nothing-here')).toEqual(plain(404, { error: `no admin endpoint /__emulator/nothing-here${hint}` }));
    expect(await send('GET', '/__emulator')).toEqual(plain(404, { error: `no admin endpoint /__emulator${hint}` }));
    expect(await send('GET', '/__emulator/')).toEqual(plain(404, { error: `no admin endpoint /__emulator${hint}` }));
    // Admin paths are matched as sent: not collapsed, not percent-decoded.
    expect(await send('GET', '/__emulator//clock')).toEqual(plain(404, { error: `no admin endpoint /__emulator//clock${hint}` }));
    expect(await send('GET', '/__emulator/%63lock')).toEqual(plain(404, { error: `no admin endpoint /__emulator/%63lock${hint}` }));
    expect(await send('GET', '/__emulator/clock/extra')).toEqual(plain(404, { error: `no admin endpoint /__emulator/clock/extra${hint}` }));

    expect(await send('PUT', '/__emulator/faults')).toEqual(plain(405, { error: 'PUT is not allowed on /__emulator/faults; use GET or POST or DELETE' }));
    expect(await send('DELETE', '/__emulator/info')).toEqual(plain(405, { error: 'DELETE is not allowed on /__emulator/info; use GET' }));
    expect(await send('GET', '/__emulator/tokens/expire/')).toEqual(plain(405, { error: 'GET is not allowed on /__emulator/tokens/expire; use POST' }));
  });

  it('trailing slashes are ignored; a query string that is not UTF-8 reads as empty', async () => {
    const clock = await send('GET', '/__emulator/clock/');
    expect(clock.status).toBe(200);
    expect(Object.keys(clock.body as object).sort()).toEqual(['epochMs', 'frozen', 'now']);
    const log = await send('GET', '/__emulator/requests?limit=%FF');
    expect(log).toEqual(plain(200, { requests: [], next_seq: 0, dropped: 0 }));
  });

  it('answers bad bodies and bad fault specs 400 with {error}', async () => {
    expect(await send('POST', '/__emulator/grants', new Uint8Array([0xff, 0xfe]))).toEqual(plain(400, { error: 'the body is not valid JSON' }));
    expect(await send('POST', '/__emulator/clock', '[]')).toEqual(plain(400, { error: 'the body must be a JSON object' }));
    expect(await send('POST', '/__emulator/faults', JSON.stringify({ faults: ['nonsense'] }))).toEqual(
      plain(400, { error: 'fault "nonsense": unknown kind "nonsense" (use 500, 503, 429, latency:MS, drop, drop-answer or expire-token)' }),
    );
    expect(await send('POST', '/__emulator/faults', JSON.stringify({ faults: [{ kind: 'status', status: 418 }] }))).toMatchObject({ status: 400 });
    expect((await send('GET', '/__emulator/faults')).body).toEqual({ faults: [] });
  });

  it('a path that only starts like the admin prefix is a Books path', async () => {
    expect(await send('GET', '/__emulatorX')).toEqual(plain(404, INVALID_URL));
  });

  it('answers 405 to a method named like a property every object has (in-process fetch)', async () => {
    // The admin routes were looked up in a plain object, where `toString` is a function.
    const inProcess = createEmulatorFetch(t.emulator);
    for (const method of ['toString', 'hasOwnProperty', 'constructor']) {
      const res = await inProcess('http://emulator.local/__emulator/info', { method });
      expect(res.status, method).toBe(405);
      expect(await res.json(), method).toEqual({ error: `${method} is not allowed on /__emulator/info; use GET` });
    }
  });

  it('is not in the request log', async () => {
    await send('GET', '/__emulator/nothing-here');
    await send('PUT', '/__emulator/faults');
    await send('GET', '/__emulator/info');
    expect((await send('GET', '/__emulator/requests')).body).toEqual({ requests: [], next_seq: 0, dropped: 0 });
  });
});

describe('the accounts server', () => {
  it('answers an unknown /oauth/v2 path 404 invalid_url and a wrong method 405, with no-store and no Allow', async () => {
    expect(await send('POST', '/oauth/v2/nope')).toEqual(noStore(404, { error: 'invalid_url' }));
    expect(await send('GET', '/oauth/v2/nope')).toEqual(noStore(404, { error: 'invalid_url' }));
    expect(await send('POST', '/oauth/v2/%ff')).toEqual(noStore(404, { error: 'invalid_url' }));
    expect(await send('GET', '/oauth/v2/token')).toEqual(noStore(405, { error: 'method_not_allowed' }));
    expect(await send('DELETE', '/oauth/v2/token/revoke')).toEqual(noStore(405, { error: 'method_not_allowed' }));
  });

  it('matches /oauth/v2 paths decoded and collapsed, like Books paths', async () => {
    for (const path of ['/oauth/v2/token', '/oauth/v2/token/', '/oauth/v2//token', '/oauth/v2/%74oken']) {
      expect(await send('POST', path), path).toEqual(noStore(400, { error: 'unsupported_grant_type' }));
    }
    expect(await send('POST', '/oauth/v2/token/revoke?token=nope')).toEqual(noStore(200, { error: 'invalid_token' }));
  });

  it('/oauth/v2 itself and other /oauth paths are Books paths (404 code 5)', async () => {
    expect(await send('POST', '/oauth/v2')).toEqual(plain(404, INVALID_URL));
    expect(await send('POST', '/oauth/v2/')).toEqual(plain(404, INVALID_URL));
    expect(await send('POST', '/oauth/v1/token')).toEqual(plain(404, INVALID_URL));
  });

  it('a body that is not UTF-8 is invalid_request (no-store); a query string that is not UTF-8 too, without no-store', async () => {
    expect(await send('POST', '/oauth/v2/token', new Uint8Array([0xff, 0xfe]))).toEqual(noStore(400, { error: 'invalid_request' }));
    expect(await send('POST', '/oauth/v2/token?grant_type=%FF')).toEqual(plain(400, { error: 'invalid_request' }));
    expect(await send('POST', '/oauth/anything?x=%FF')).toEqual(plain(400, { error: 'invalid_request' }));
  });

  it('a status fault answers before routing, in the Zoho envelope, and counts against its rule', async () => {
    expect((await t.admin('POST', '/__emulator/faults', { faults: ['503,path=/oauth/**,count=1'] })).status).toBe(200);
    expect(await send('POST', '/oauth/v2/nope')).toEqual(plain(503, { code: 1000, message: 'Internal error' }));
    expect(await send('POST', '/oauth/v2/nope')).toEqual(noStore(404, { error: 'invalid_url' }));
    const log = await t.admin<{ requests: Array<{ method: string; path: string; status: number; code: number | null; fault: string | null }> }>('GET', '/__emulator/requests');
    expect(log.body.requests.map((r) => [r.method, r.path, r.status, r.code, r.fault === null])).toEqual([
      ['POST', '/oauth/v2/nope', 503, 1000, false],
      ['POST', '/oauth/v2/nope', 404, null, true],
    ]);
  });
});

describe('Books', () => {
  it('answers an unknown path 404 code 5 and a wrong method 405 code 37 with Allow', async () => {
    expect(await send('GET', '/books/v3/nothing-here')).toEqual(plain(404, INVALID_URL));
    expect(await send('DELETE', '/books/v3/organizations')).toEqual(
      plain(405, { code: 37, message: 'The HTTP method is not allowed for the requested resource' }, 'GET'),
    );
  });
});
