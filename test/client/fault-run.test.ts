/**
 * 2,000 client calls against the real emulator over HTTP while it injects faults, with the access
 * token expiring every 30 emulated seconds. Every call must end in success or in the typed error
 * its last attempt calls for, the client must refresh at most once per expiry, and the emulator's
 * data must be consistent afterwards.
 *
 * Design, so that the run is honest and takes seconds, not minutes:
 * - Faults (Books API only, not the accounts server): 5% 500, 5% 503, 1% dropped connections, and
 *   four bursts of six 429s. The bursts use code 1070 (too many in flight), which the client retries
 *   after its backoff; a 44 would pause the organization for the client's whole per-minute window
 *   (61 s), which error-kinds.test.ts covers with a short window instead.
 * - Time: the emulator issues 30-second tokens, and every 50 completed calls the test moves the
 *   emulator's clock 65 s forward (POST /__emulator/clock), so every token the client holds expires
 *   and the per-minute windows (the emulator's fixed minute, the client's sliding 61 s) start
 *   afresh. Spacing the expiries 65 s apart keeps a correct client within both refresh limits (the
 *   emulator's and its own: 10 per 10 minutes). The client's clock reads the emulator's clock, so
 *   both sides agree on when a token expires.
 * - Pacing: the client's limiter may start its whole per-minute allowance at once (limits.burst
 *   100); the clock advances give the minutes, and fewer than 100 attempts fall between two.
 * - Sleeps: backoffs are made short (5 ms base, 100 ms cap) and are real, like the per-attempt
 *   timeout timer. A sleep longer than 5 s (a per-minute window or refresh-limit wait, which a
 *   correct client never needs here) does not wait: it moves the emulator's clock forward by its
 *   length and is recorded, so a misbehaving client fails the assertions quickly instead of
 *   stalling the test.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMemoryTokenStore, NetworkError, RateLimitedError, ServerError, systemClock, type Clock, type ZohoError,
} from '../../src/client/index.js';
import type { ContactListItem, TransactionRecord } from '../../src/zoho/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createTestClient, seededRandom } from '../helpers/client.js';

const CALLS = 2000;
const CONCURRENCY = 10;
const ADVANCE_EVERY = 50;
const ADVANCE_SECONDS = 65;
const LONG_SLEEP_MS = 5_000;
const TIMEOUT_MS = 5_000;
const MAX_ATTEMPTS = 5;
const PAGE_SIZE = 100;
const INVOICE_CUSTOMERS = 30;
const STATUS_CONTACTS = 120;
const START = Date.UTC(2026, 2, 2, 6, 0, 1);
const FAULTS = [
  '429,code=1070,skip=300,count=6,path=/**',
  '429,code=1070,skip=800,count=6,path=/**',
  '429,code=1070,skip=1300,count=6,path=/**',
  '429,code=1070,skip=1800,count=6,path=/**',
  '500,rate=0.05,path=/**',
  '503,rate=0.05,path=/**',
  'drop,rate=0.01,path=/**',
];

type Kind = 'get' | 'list' | 'status' | 'invoice';
interface Attempt {
  attempt: number;
  status: number;
  code: number | undefined;
  outcome: 'response' | 'network' | 'timeout';
}
interface LogEntry {
  seq: number;
  method: string;
  path: string;
  status: number;
  code: number | null;
}
interface FaultRule {
  id: string;
  kind: string;
  status?: number;
  code?: number;
  fired: number;
}

async function rawAll<T>(t: TestEmulator, path: string, key: string, query: Record<string, string>, token: string): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; ; page++) {
    const res = await t.call<Record<string, unknown>>('GET', path, { query: { ...query, page, per_page: 200 }, token });
    expect(res.status).toBe(200);
    all.push(...(res.body[key] as T[]));
    if (!(res.body.page_context as { has_more_page: boolean }).has_more_page) return all;
  }
}

async function logBetween(t: TestEmulator, from: number, to: number, filter: string): Promise<LogEntry[]> {
  const res = await t.admin<{ requests: LogEntry[] }>('GET', `/__emulator/requests?limit=100000&since=${from}&${filter}`);
  return res.body.requests.filter((r) => r.seq <= to);
}

describe('2,000 calls through injected faults and expiring tokens', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({ contacts: 300, tokenTtlSeconds: 30, startAt: START });
  });
  afterAll(async () => {
    await t.close();
  });

  it('ends every call in success or the right typed error, refreshing at most once per expiry', async () => {
    // ---- Set-up, raw, with the ready-made token (valid for the first 30 emulated seconds).
    const customers: string[] = [];
    for (let i = 1; i <= INVOICE_CUSTOMERS; i++) {
      const res = await t.call<{ contact: ContactListItem }>('POST', '/contacts', { body: { contact_name: `Fault Run Customer ${String(i).padStart(2, '0')}` } });
      expect(res.status).toBe(201);
      customers.push(res.body.contact.contact_id);
    }
    const contacts = await rawAll<ContactListItem>(t, '/contacts', 'contacts', {}, t.token);
    const allIds = contacts.map((c) => c.contact_id);
    const pages = Math.ceil(allIds.length / PAGE_SIZE);
    const statusPool = contacts.filter((c) => c.status === 'active' && !customers.includes(c.contact_id)).slice(0, STATUS_CONTACTS).map((c) => c.contact_id);
    expect(statusPool.length).toBe(STATUS_CONTACTS);

    await t.admin('POST', '/__emulator/clock', { advanceSeconds: ADVANCE_SECONDS });
    const faultsAdded = await t.admin<{ faults: FaultRule[] }>('POST', '/__emulator/faults', { faults: FAULTS, replace: true });
    expect(faultsAdded.body.faults.length).toBe(FAULTS.length);
    const seqStart = (await t.admin<{ next_seq: number }>('GET', '/__emulator/requests?limit=1')).body.next_seq;
    const runStartMs = Math.floor(t.emulator.clock.now() / 1000) * 1000;

    // ---- The client: emulated time, short real backoffs, long waits turned into clock jumps.
    const jumps: number[] = [];
    const clock: Clock = {
      now: () => t.emulator.clock.now(),
      sleep(ms, signal) {
        if (ms <= LONG_SLEEP_MS) return systemClock.sleep(ms, signal);
        if (signal?.aborted) return Promise.reject(signal.reason);
        jumps.push(ms);
        t.emulator.clock.advance(ms);
        return new Promise<void>((resolve) => setImmediate(resolve));
      },
    };
    const perCall = new AsyncLocalStorage<Attempt[]>();
    let responses = 0;
    let refreshesOk = 0;
    const refreshFailures: string[] = [];
    const refreshWaits: number[] = [];
    const retries = new Map<string, number>();
    const tc = createTestClient(t, {
      clock,
      tokenStore: createMemoryTokenStore(),
      random: seededRandom(7),
      timeoutMs: TIMEOUT_MS,
      retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 5, maxDelayMs: 100 },
      // The whole per-minute allowance may start at once (no pacing): the clock advances give the
      // minutes here, and fewer than 100 attempts fall between two of them.
      limits: { burst: 100 },
      hooks: {
        onResponse(info) {
          responses++;
          perCall.getStore()?.push({ attempt: info.attempt, status: info.status, code: info.code, outcome: info.outcome });
        },
        onRefresh(info) {
          if (info.ok) refreshesOk++;
          else refreshFailures.push(info.error ?? '?');
        },
        onRefreshWait: (info) => void refreshWaits.push(info.waitMs),
        onRetry: (info) => void retries.set(info.reason, (retries.get(info.reason) ?? 0) + 1),
      },
    });
    const organizations = await perCall.run([], () => tc.client.organizations.list());
    expect(organizations.map((o) => o.organization_id)).toEqual(t.organizations);
    const books = tc.client.organization(t.organization);
    expect(books.limits().inFlightCap).toBe(10);

    // ---- The run.
    const random = seededRandom(2026);
    const kinds: Kind[] = Array.from({ length: CALLS }, () => {
      const r = random();
      return r < 0.35 ? 'get' : r < 0.55 ? 'list' : r < 0.85 ? 'status' : 'invoice';
    });
    const picks = Array.from({ length: CALLS }, () => random());
    const expectedStatus = new Map<string, 'active' | 'inactive'>(statusPool.map((id) => [id, 'active']));
    const freeStatus = [...statusPool];
    const createdInvoices = new Map<string, string>(); // reference → invoice id
    const outcomes = new Map<string, number>();
    const unexpected: string[] = [];
    let unchanged = 0;
    let next = 0;
    let completed = 0;
    let advances = 0;

    const count = (label: string): void => void outcomes.set(label, (outcomes.get(label) ?? 0) + 1);

    /** The error the last attempt calls for, or why this one is wrong. */
    const judge = (kind: Kind, error: unknown, attempts: Attempt[], method: string): string | undefined => {
      const last = attempts[attempts.length - 1];
      if (!last) return 'no attempt was made';
      const e = error as ZohoError;
      if (e.organizationId !== t.organization || e.request?.method !== method) return `wrong organization or request: ${JSON.stringify(e.request)}`;
      const idempotent = kind !== 'invoice';
      let finalOnly = false; // an outcome after which no retry is allowed, whatever the attempt
      if (error instanceof ServerError) {
        if (last.outcome !== 'response' || e.status !== last.status || e.code !== 1000 || (e.status !== 500 && e.status !== 503)) return `ServerError ${e.status}/${e.code} after ${JSON.stringify(last)}`;
        finalOnly = !idempotent && e.status === 500;
      } else if (error instanceof RateLimitedError) {
        if (last.status !== 429 || last.code !== 1070 || e.status !== 429 || e.code !== 1070) return `RateLimitedError ${e.status}/${e.code} after ${JSON.stringify(last)}`;
      } else if (error instanceof NetworkError) {
        if (last.outcome !== 'network' || e.status !== undefined) return `NetworkError after ${JSON.stringify(last)}`;
        finalOnly = !idempotent;
      } else {
        return `unexpected ${(error as Error).name}: ${(error as Error).message}`;
      }
      if (!finalOnly && last.attempt !== MAX_ATTEMPTS) return `${e.name} after only ${last.attempt} attempts`;
      return undefined;
    };

    const runOne = async (i: number): Promise<void> => {
      const kind = kinds[i] as Kind;
      const pick = picks[i] as number;
      const attempts: Attempt[] = [];
      let method = 'GET';
      let statusContact: string | undefined;
      let target: 'active' | 'inactive' = 'active';
      const call = async (): Promise<string | undefined> => {
        switch (kind) {
          case 'get': {
            const id = allIds[Math.floor(pick * allIds.length)] as string;
            const contact = await books.contacts.get(id);
            return contact.contact_id === id ? undefined : `get ${id} returned ${contact.contact_id}`;
          }
          case 'list': {
            const page = 1 + Math.floor(pick * pages);
            const result = await books.contacts.list({ perPage: PAGE_SIZE, page }).pages().next();
            if (result.done) return `list page ${page}: no page`;
            const got = { hasMore: result.value.hasMore, ids: result.value.items.map((c: ContactListItem) => c.contact_id) };
            const want = { hasMore: page < pages, ids: allIds.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE) };
            return JSON.stringify(got) === JSON.stringify(want) ? undefined : `list page ${page} differs`;
          }
          case 'status': {
            method = 'POST';
            statusContact = freeStatus.shift();
            if (!statusContact) return 'no free contact for a status call';
            target = expectedStatus.get(statusContact) === 'active' ? 'inactive' : 'active';
            const result = target === 'inactive' ? await books.contacts.markInactive(statusContact) : await books.contacts.markActive(statusContact);
            expectedStatus.set(statusContact, target);
            if (result.outcome === 'unchanged') unchanged++;
            return result.contactId === statusContact && result.status === target && result.outcome === 'changed' ? undefined : `status ${JSON.stringify(result)}`;
          }
          case 'invoice': {
            method = 'POST';
            const customer = customers[i % customers.length] as string;
            const reference = `RUN-${i}`;
            const invoice = await books.invoices.create({ customer_id: customer, reference_number: reference, line_items: [{ name: 'Run', rate: 10, quantity: 1 }] });
            createdInvoices.set(reference, invoice.invoice_id as string);
            return invoice.customer_id === customer && invoice.reference_number === reference ? undefined : `invoice ${JSON.stringify(invoice)}`;
          }
        }
      };
      try {
        const wrong = await perCall.run(attempts, call);
        const last = attempts[attempts.length - 1];
        if (wrong) unexpected.push(`#${i} ${kind}: ${wrong}`);
        else if (!last || last.outcome !== 'response' || last.status >= 300 || last.code !== 0) unexpected.push(`#${i} ${kind}: success after ${JSON.stringify(last)}`);
        else count(`${kind}:ok`);
      } catch (error) {
        const wrong = judge(kind, error, attempts, method);
        if (wrong) unexpected.push(`#${i} ${kind}: ${wrong}`);
        else count(`${kind}:${(error as ZohoError).kind}`);
      } finally {
        if (statusContact) freeStatus.push(statusContact);
      }
    };

    // A client that refreshes more than once per expiry would spend the refresh limits and wait
    // for them; once it is clearly over budget the run stops early and the assertions say why.
    let stoppedAt: number | undefined;
    const overBudget = (): boolean => refreshesOk > advances + 1 + 5;
    const worker = async (): Promise<void> => {
      for (;;) {
        if (stoppedAt === undefined && overBudget()) stoppedAt = next;
        if (stoppedAt !== undefined) return;
        const i = next++;
        if (i >= CALLS) return;
        await runOne(i);
        completed++;
        if (completed % ADVANCE_EVERY === 0 && completed < CALLS) {
          advances++;
          const moved = await t.admin('POST', '/__emulator/clock', { advanceSeconds: ADVANCE_SECONDS });
          expect(moved.status).toBe(200);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
    const seqEnd = (await t.admin<{ next_seq: number }>('GET', '/__emulator/requests?limit=1')).body.next_seq;

    // ---- What the emulator saw.
    const faults = (await t.admin<{ faults: FaultRule[] }>('GET', '/__emulator/faults')).body.faults;
    const tokenCalls = await logBetween(t, seqStart, seqEnd, 'method=POST&path_prefix=/oauth/v2/token');
    const booksCalls = await logBetween(t, seqStart, seqEnd, 'path_prefix=/books/v3/');
    const refused57 = booksCalls.filter((r) => r.code === 57).length;
    await t.admin('DELETE', '/__emulator/faults');
    await t.admin('POST', '/__emulator/clock', { advanceSeconds: ADVANCE_SECONDS });
    const token = await t.tokenFor(['ZohoBooks.fullaccess.all']);
    const finalContacts = await rawAll<ContactListItem>(t, '/contacts', 'contacts', {}, token);
    const stamp = `${new Date(runStartMs).toISOString().slice(0, 19)}+0000`;
    const runInvoices = await rawAll<TransactionRecord>(t, '/invoices', 'invoices', { last_modified_time: stamp }, token);
    const check = await t.admin<{ ok: boolean; mismatches: unknown[] }>('GET', '/__emulator/check');

    const successes = [...outcomes].filter(([k]) => k.endsWith(':ok')).reduce((n, [, v]) => n + v, 0);
    const errorsByKind: Record<string, number> = {};
    for (const [k, v] of outcomes) if (!k.endsWith(':ok')) errorsByKind[k] = v;
    console.log(
      `fault run: calls=${CALLS} successes=${successes} ${JSON.stringify(Object.fromEntries([...outcomes].filter(([k]) => k.endsWith(':ok'))))}` +
        ` errors=${JSON.stringify(errorsByKind)} unexpected=${unexpected.length}` +
        ` faults fired=${JSON.stringify(Object.fromEntries(faults.map((f) => [`${f.kind === 'status' ? `${f.status}/${f.code}` : f.kind}#${f.id}`, f.fired])))}` +
        ` attempts=${responses} retries=${JSON.stringify(Object.fromEntries(retries))} 57s=${refused57}` +
        ` refreshes(log)=${tokenCalls.length} refreshes(hook)=${refreshesOk} refresh failures=${refreshFailures.length} advances=${advances}` +
        ` jumps=${jumps.length} refresh waits=${refreshWaits.length}` +
        (stoppedAt === undefined ? '' : ` STOPPED after ${stoppedAt} calls: ${refreshesOk} refreshes for ${advances} expiries`),
    );

    // ---- Every call ended in success or the right typed error.
    expect(unexpected.slice(0, 20)).toEqual([]);
    expect(refreshesOk, `${refreshesOk} refreshes for ${advances} expiries (+1 to start)`).toBeLessThanOrEqual(advances + 1);
    expect(stoppedAt).toBeUndefined();
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(CALLS);
    expect(unchanged).toBe(0);
    expect(successes).toBeGreaterThan(CALLS * 0.9);

    // ---- The faults really fired.
    for (const rule of faults) expect(rule.fired, `${rule.id} ${rule.kind}`).toBeGreaterThan(0);
    expect(faults.filter((f) => f.code === 1070).map((f) => f.fired)).toEqual([6, 6, 6, 6]);

    // ---- No more than one refresh per expiry (and one to start): the client's count and the emulator's.
    expect(advances).toBe(CALLS / ADVANCE_EVERY - 1);
    expect(refreshFailures).toEqual([]);
    expect(tokenCalls.every((r) => r.status === 200)).toBe(true);
    expect(tokenCalls.length).toBe(refreshesOk);
    expect(refreshesOk).toBe(advances + 1); // and each expiry did need one
    expect(refreshWaits).toEqual([]);
    expect(jumps).toEqual([]);
    // Every attempt the client made reached the emulator, and nothing else did.
    expect(booksCalls.length).toBe(responses);

    // ---- The emulator's state agrees with what the calls reported.
    expect(check.body).toEqual({ ok: true, mismatches: [] });
    const finalStatus = new Map(finalContacts.map((c) => [c.contact_id, c.status]));
    const statusMismatches = statusPool.filter((id) => finalStatus.get(id) !== expectedStatus.get(id));
    expect(statusMismatches).toEqual([]);
    const seen = new Map<string, string>();
    for (const invoice of runInvoices) {
      const reference = invoice.reference_number as string;
      expect(seen.has(reference), `invoice ${reference} created twice`).toBe(false);
      seen.set(reference, invoice.invoice_id as string);
    }
    expect(Object.fromEntries([...seen].sort())).toEqual(Object.fromEntries([...createdInvoices].sort()));
  });
});
