/**
 * The `drop-answer` fault (docs/emulator.md "Faults"): the request is handled completely, then the
 * connection is dropped instead of answering — the answer is lost after the change is made. Over
 * real HTTP, through the in-process fetch, and from `sunset emulator start --fault` (the built CLI).
 * The request log must tell it apart from `drop`, which stops the request before it is handled.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createEmulatorFetch, FaultSpecError, parseFaultSpec, validateFaultRule, type EmulatorOptions } from '../../src/emulator/index.js';
import { startTestEmulator, type CallResult, type TestEmulator } from '../helpers/emulator.js';
import { createHarness } from '../helpers/cli.js';

interface LogEntry {
  seq: number;
  method: string;
  path: string;
  status: number;
  code: number | null;
  organization_id: string | null;
  fault: string | null;
  answer_dropped: boolean;
}
interface FaultRule {
  id: string;
  kind: string;
  matched: number;
  fired: number;
}
interface Contact {
  contact_id: string;
  status: string;
}

const NOW = '2030-06-01T06:00:10Z';
const open: TestEmulator[] = [];
const cli = createHarness();

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
  await cli.cleanup();
});
afterAll(async () => {
  await cli.cleanupAll();
});

async function start(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const e = await startTestEmulator({ contacts: 20, tokenTtlSeconds: 10 * 365 * 86_400, ...options });
  open.push(e);
  expect((await e.admin('POST', '/__emulator/clock', { freeze: true })).status).toBe(200);
  expect((await e.admin('POST', '/__emulator/clock', { set: NOW })).status).toBe(200);
  return e;
}

async function addFaults(e: TestEmulator, faults: unknown[]): Promise<FaultRule[]> {
  const res = await e.admin<{ added: FaultRule[] }>('POST', '/__emulator/faults', { faults });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.added;
}

async function faultRules(e: TestEmulator): Promise<FaultRule[]> {
  return (await e.admin<{ faults: FaultRule[] }>('GET', '/__emulator/faults')).body.faults;
}

async function logSince(e: TestEmulator, since: number): Promise<LogEntry[]> {
  return (await e.admin<{ requests: LogEntry[] }>('GET', `/__emulator/requests?since=${since}`)).body.requests;
}

async function nextSeq(e: TestEmulator): Promise<number> {
  return (await e.admin<{ next_seq: number }>('GET', '/__emulator/requests?limit=1')).body.next_seq;
}

async function activeContacts(e: TestEmulator, n: number): Promise<string[]> {
  const res = await e.call<{ contacts: Contact[] }>('GET', '/contacts', { query: { filter_by: 'Status.Active', per_page: n } });
  const ids = res.body.contacts.map((c) => c.contact_id);
  expect(ids).toHaveLength(n);
  return ids;
}

async function statusOf(e: TestEmulator, id: string): Promise<string> {
  return (await e.call<{ contact: Contact }>('GET', `/contacts/${id}`)).body.contact.status;
}

async function historyOf(e: TestEmulator, id: string): Promise<string[]> {
  const res = await e.call<{ contact_comments: Array<{ description: string }> }>('GET', `/contacts/${id}/comments`);
  return res.body.contact_comments.map((c) => c.description);
}

/** A call whose connection is dropped rejects the way Node's fetch does; anything else is a result. */
async function callOrDropped(e: TestEmulator, method: string, path: string, options: { body?: unknown } = {}): Promise<CallResult | 'dropped'> {
  try {
    return await e.call(method, path, options);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return 'dropped';
  }
}

describe('drop-answer over HTTP', () => {
  it('a status change is made and recorded, then the connection is dropped; a following GET shows the new status', async () => {
    const e = await start();
    const [id] = await activeContacts(e, 1) as [string];
    const before = await historyOf(e, id);
    const [rule] = await addFaults(e, ['drop-answer,count=1,method=POST,path=/contacts/*/inactive']);
    const since = await nextSeq(e);

    await expect(e.call('POST', `/contacts/${id}/inactive`)).rejects.toThrow(new TypeError('fetch failed'));

    expect(await statusOf(e, id)).toBe('inactive');
    expect(await historyOf(e, id)).toEqual(['Contact marked as inactive.', ...before]);
    // The rule has fired its one time: asking again hears "already inactive".
    const again = await e.call('POST', `/contacts/${id}/inactive`);
    expect([again.status, again.body.code]).toEqual([400, 3032]);
    expect(await faultRules(e)).toEqual([expect.objectContaining({ id: rule?.id, kind: 'drop_answer', matched: 1, fired: 1 })]);
    const log = await logSince(e, since);
    expect(log.map((r) => [r.method, r.path.replace(id, 'ID'), r.status, r.code, r.fault, r.answer_dropped])).toEqual([
      ['POST', '/books/v3/contacts/ID/inactive', 200, 0, rule?.id, true],
      ['GET', '/books/v3/contacts/ID', 200, 0, null, false],
      ['GET', '/books/v3/contacts/ID/comments', 200, 0, null, false],
      ['POST', '/books/v3/contacts/ID/inactive', 400, 3032, null, false],
    ]);
  });

  it('the log tells it apart from drop, which stops the request before it is handled', async () => {
    const e = await start();
    const [a, b] = await activeContacts(e, 2) as [string, string];
    const [drop] = await addFaults(e, ['drop,count=1,path=/contacts/*/inactive']);
    const since = await nextSeq(e);
    await expect(e.call('POST', `/contacts/${a}/inactive`)).rejects.toThrow(TypeError);
    const [dropAnswer] = await addFaults(e, [{ kind: 'drop_answer', count: 1, path: '/contacts/*/inactive' }]);
    await expect(e.call('POST', `/contacts/${b}/inactive`)).rejects.toThrow(TypeError);

    expect(await statusOf(e, a)).toBe('active');
    expect(await statusOf(e, b)).toBe('inactive');
    const posts = (await logSince(e, since)).filter((r) => r.method === 'POST');
    expect(posts.map((r) => ({ path: r.path, status: r.status, code: r.code, fault: r.fault, answer_dropped: r.answer_dropped, organization: r.organization_id }))).toEqual([
      { path: `/books/v3/contacts/${a}/inactive`, status: 0, code: null, fault: drop?.id, answer_dropped: false, organization: e.organization },
      { path: `/books/v3/contacts/${b}/inactive`, status: 200, code: 0, fault: dropAnswer?.id, answer_dropped: true, organization: e.organization },
    ]);
  });

  it('method, path and count filters: only the matching requests lose their answer', async () => {
    const e = await start();
    const [a, b, c, d] = await activeContacts(e, 4) as [string, string, string, string];
    await addFaults(e, ['drop-answer,method=POST,path=/contacts/*/inactive,count=2']);

    // Not the method, not the path: answered.
    expect((await e.call('GET', `/contacts/${a}`)).status).toBe(200);
    expect((await e.call('POST', '/contacts', { body: { contact_name: 'Not Matched By Path' } })).status).toBe(201);
    // Matching: handled, answer dropped, twice; then the count is used up.
    expect(await callOrDropped(e, 'POST', `/contacts/${a}/inactive`)).toBe('dropped');
    expect(await callOrDropped(e, 'POST', `/contacts/${b}/inactive`)).toBe('dropped');
    const third = await callOrDropped(e, 'POST', `/contacts/${c}/inactive`);
    expect(third !== 'dropped' && [third.status, third.body.code]).toEqual([200, 0]);
    // Another path under the same prefix: answered.
    const reactivated = await callOrDropped(e, 'POST', `/contacts/${a}/active`);
    expect(reactivated !== 'dropped' && reactivated.status).toBe(200);

    expect([await statusOf(e, a), await statusOf(e, b), await statusOf(e, c), await statusOf(e, d)]).toEqual(['active', 'inactive', 'inactive', 'active']);
    expect((await faultRules(e))[0]).toMatchObject({ kind: 'drop_answer', matched: 2, fired: 2 });
  });

  it('a method filter on its own: an update under PUT is applied but not answered, reads are answered', async () => {
    const e = await start();
    const [id] = await activeContacts(e, 1) as [string];
    await addFaults(e, ['drop-answer,method=PUT']);
    expect((await e.call('GET', `/contacts/${id}`)).status).toBe(200);
    expect(await callOrDropped(e, 'PUT', `/contacts/${id}`, { body: { contact_name: 'Renamed Though Unanswered' } })).toBe('dropped');
    expect((await e.call<{ contact: { contact_name: string } }>('GET', `/contacts/${id}`)).body.contact.contact_name).toBe('Renamed Though Unanswered');
  });

  it('skip, every and rate select which matches fire, like the other kinds', async () => {
    const e = await start();
    await addFaults(e, ['drop-answer,method=GET,path=/contacts,skip=1,every=2']);
    const seen: Array<number | 'dropped'> = [];
    for (let i = 0; i < 6; i++) {
      const r = await callOrDropped(e, 'GET', '/contacts', {});
      seen.push(r === 'dropped' ? r : r.status);
    }
    expect(seen).toEqual([200, 200, 'dropped', 200, 'dropped', 200]);

    await e.admin('DELETE', '/__emulator/faults');
    await addFaults(e, ['drop-answer,path=/contacts,rate=0.5']);
    let dropped = 0;
    for (let i = 0; i < 40; i++) if ((await callOrDropped(e, 'GET', '/contacts')) === 'dropped') dropped++;
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(40);
    expect((await faultRules(e))[0]).toMatchObject({ matched: 40, fired: dropped });
  });

  it('on the accounts server: a token is issued, and its answer lost', async () => {
    const e = await start();
    const [rule] = await addFaults(e, ['drop-answer,count=1,path=/oauth/v2/token']);
    const since = await nextSeq(e);
    const body = new URLSearchParams({ grant_type: 'refresh_token', client_id: e.info.clientId, client_secret: e.info.clientSecret, refresh_token: e.info.refreshToken });
    await expect(fetch(`${e.origin}/oauth/v2/token`, { method: 'POST', body })).rejects.toThrow(TypeError);
    expect((await fetch(`${e.origin}/oauth/v2/token`, { method: 'POST', body })).status).toBe(200);
    expect((await logSince(e, since)).map((r) => [r.path, r.status, r.fault, r.answer_dropped])).toEqual([
      ['/oauth/v2/token', 200, rule?.id, true],
      ['/oauth/v2/token', 200, null, false],
    ]);
  });
});

describe('drop-answer through the in-process fetch', () => {
  it('rejects with TypeError: fetch failed after the change; a following GET shows the new status', async () => {
    const e = await start();
    const fetchIn = createEmulatorFetch(e.emulator);
    const [id] = await activeContacts(e, 1) as [string];
    const [rule] = await addFaults(e, ['drop-answer,count=1,method=POST,path=/contacts/*/inactive']);
    const since = await nextSeq(e);
    const headers = { authorization: `Zoho-oauthtoken ${e.token}` };

    await expect(fetchIn(`/books/v3/contacts/${id}/inactive?organization_id=${e.organization}`, { method: 'POST', headers })).rejects.toThrow(new TypeError('fetch failed'));
    const read = await fetchIn(`/books/v3/contacts/${id}?organization_id=${e.organization}`, { headers });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { contact: Contact }).contact.status).toBe('inactive');
    expect((await logSince(e, since)).map((r) => [r.method, r.status, r.code, r.fault, r.answer_dropped])).toEqual([
      ['POST', 200, 0, rule?.id, true],
      ['GET', 200, 0, null, false],
    ]);
  });
});

describe('drop-answer specs', () => {
  it('parses with every option the other kinds take, in both spellings', () => {
    expect(parseFaultSpec('drop-answer,rate=0.5,count=3,skip=1,every=2,method=post,path=/contacts/*/inactive')).toEqual({
      kind: 'drop_answer', rate: 0.5, count: 3, skip: 1, every: 2, method: 'POST', path: '/contacts/*/inactive',
    });
    expect(parseFaultSpec('drop_answer')).toMatchObject({ kind: 'drop_answer' });
    expect(validateFaultRule({ kind: 'drop_answer', count: 1 })).toMatchObject({ kind: 'drop_answer', count: 1 });
  });

  it('a bad spec throws a FaultSpecError that says what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['drop-answer:5', /drop-answer takes no argument/],
      ['drop-answer,rate=2', /rate=2: expected a number from 0 to 1/],
      ['drop-answer,count=0', /count=0: expected an integer from 1/],
      ['drop-answer,colour=red', /unknown option "colour"/],
      ['drop-answer,count', /option "count" should be key=value/],
      ['drop-answers', /unknown kind "drop-answers" \(use .*drop-answer/],
    ];
    for (const [spec, message] of cases) {
      expect(() => parseFaultSpec(spec), spec).toThrow(FaultSpecError);
      expect(() => parseFaultSpec(spec), spec).toThrow(message);
    }
    expect(() => validateFaultRule({ kind: 'drop-answer' })).toThrow(/is not one of .*drop_answer/);
  });

  it('the admin API refuses a bad one with 400 and adds nothing', async () => {
    const e = await start();
    const res = await e.admin<{ error: string }>('POST', '/__emulator/faults', { faults: ['drop-answer,count=1', 'drop-answer:1'] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/drop-answer takes no argument/);
    expect(await faultRules(e)).toEqual([]);
  });
});

describe('sunset emulator start --fault drop-answer', () => {
  it('applies the change and drops the answer; a bad spec exits 2 with a clear message', async () => {
    const emu = await cli.startEmulator(['--contacts', '20', '--fault', 'drop-answer,count=1,method=POST,path=/contacts/*/inactive']);
    const id = (await emu.contacts()).find((c) => c.status === 'active')!.contact_id;
    const since = await emu.seq();
    await expect(emu.books('POST', `/contacts/${id}/inactive`, { organization_id: emu.organization })).rejects.toThrow(TypeError);
    expect(await emu.status(id)).toBe('inactive');
    const [post] = await emu.requests(since, { method: 'POST' });
    expect(post).toMatchObject({ status: 200, code: 0, fault: 'fault-1', answer_dropped: true });

    const bad = await cli.run(['emulator', 'start', '--port', '0', '--fault', 'drop-answer:3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--fault: fault "drop-answer:3": drop-answer takes no argument/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
