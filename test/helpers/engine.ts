/**
 * Engine test harness: a real emulator over HTTP (frozen emulated clock), a real client with an
 * in-memory token store, the engine's BooksPort on top of it counting calls through the client's
 * `onResponse` hook, and a journal on a fresh SQLite file in a temp dir. The engine's clock reads the
 * emulator's time and its `sleep` moves the emulator's clock (through the admin API) instead of
 * waiting; the client reads the same time. No test waits on real time beyond a request's own round trip.
 */
import {
  createMemoryTokenStore, createZohoBooksClient, type ClientHooks, type RetryOptions, type ZohoBooksClient,
} from '../../src/client/index.js';
import type { EmulatorOptions } from '../../src/emulator/index.js';
import {
  planContacts, createJournal, createZohoAdapter, emulatorTarget, parsePolicy, scan,
  type BooksPort, type EngineClock, type Journal, type Plan, type Policy, type SnapshotContact, type SnapshotInfo, type SqlDatabase,
} from '../../src/engine/index.js';
import { emulatorTimeClock, seededRandom } from './client.js';
import { openTestDatabase, testLocation } from './database.js';
import { startTestEmulator, tempDir, type TestEmulator } from './emulator.js';

/** 2026-03-02 06:00:05 UTC. */
export const ENGINE_START = Date.UTC(2026, 2, 2, 6, 0, 5);

export interface LogEntry {
  seq: number;
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  code: number | null;
  organization_id: string | null;
  fault: string | null;
}

export interface EmulatorDrivenClock extends EngineClock {
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[];
}

/** A clock on the emulator's (frozen) time: `sleep(ms)` advances the emulated clock by `ms` over the admin API. */
export function emulatorDrivenClock(t: TestEmulator): EmulatorDrivenClock {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t.emulator.clock.now(),
    async sleep(ms, signal) {
      signal?.throwIfAborted();
      sleeps.push(ms);
      if (ms > 0) {
        const res = await t.admin('POST', '/__emulator/clock', { advanceSeconds: ms / 1000 });
        if (res.status !== 200) throw new Error(`could not advance the emulator clock: ${JSON.stringify(res.body)}`);
      }
    },
  };
}

export interface EngineSide {
  client: ZohoBooksClient;
  port: BooksPort;
  /** Calls answered through this client so far (the `onResponse` hook). */
  calls(): number;
}

export interface EngineHarness extends EngineSide {
  t: TestEmulator;
  organization: string;
  clock: EmulatorDrivenClock;
  journal: Journal;
  db: SqlDatabase;
  dir: string;
  /** Where the journal is: a SQLite file, or a postgres:// URL (the postgres project); for `--database`. */
  dbPath: string;
  /** A second client and port on the same emulator and clock (a new process after a crash). */
  newSide(hooks?: ClientHooks, client?: { timeoutMs?: number; retry?: RetryOptions }): EngineSide;
  /** The emulator's request log, oldest first. */
  requests(filter?: { since?: number; method?: string; pathPrefix?: string }): Promise<LogEntry[]>;
  /** The log's latest sequence number (entries after it are newer). */
  lastSeq(): Promise<number>;
  close(): Promise<void>;
}

export interface EngineHarnessOptions {
  contacts?: number;
  randomSeed?: number;
  /** Emulator limits; default on with per-minute, daily and in-flight caps far above what tests use. */
  limits?: EmulatorOptions['limits'];
  /** The client's in-flight cap (default 10). */
  inFlight?: number;
}

export async function startEngineHarness(options: EngineHarnessOptions = {}): Promise<EngineHarness> {
  const t = await startTestEmulator({
    contacts: options.contacts ?? 400,
    randomSeed: options.randomSeed ?? 7,
    startAt: ENGINE_START,
    limits: options.limits ?? { enabled: true, perMinute: 1_000_000, daily: 1_000_000, inFlight: 100 },
  });
  const frozen = await t.admin('POST', '/__emulator/clock', { freeze: true });
  if (frozen.status !== 200) throw new Error('could not freeze the emulator clock');
  const clock = emulatorDrivenClock(t);
  const tokenStore = createMemoryTokenStore();
  const organization = t.organization;

  const newSide = (hooks: ClientHooks = {}, overrides: { timeoutMs?: number; retry?: RetryOptions } = {}): EngineSide => {
    let calls = 0;
    const client = createZohoBooksClient({
      baseUrl: t.baseUrl,
      accountsUrl: t.info.accountsUrl,
      credentials: { clientId: t.info.clientId, clientSecret: t.info.clientSecret, refreshToken: t.info.refreshToken },
      tokenStore,
      // The client reads the emulator's time (quota resets line up with the engine's clock) but
      // sleeps for real: its sleeps are request timeouts (cancelled on answer) and 1–4 ms retry backoffs.
      clock: emulatorTimeClock(t),
      random: seededRandom(11),
      limits: { perMinute: 1_000_000, inFlight: options.inFlight ?? 10, dailyHeadroom: 0 },
      retry: overrides.retry ?? { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 },
      ...(overrides.timeoutMs !== undefined ? { timeoutMs: overrides.timeoutMs } : {}),
      hooks: {
        ...hooks,
        onResponse(info) {
          calls++;
          hooks.onResponse?.(info);
        },
      },
    });
    const port = createZohoAdapter(client, organization, () => calls, emulatorTarget(t.baseUrl));
    return { client, port, calls: () => calls };
  };

  const side = newSide();
  const dir = tempDir('sunset-engine-');
  // A SQLite file, or in the postgres project a schema of its own on the test server.
  const dbPath = testLocation(`${dir.path}/journal.db`);
  const db = openTestDatabase(`${dir.path}/journal.db`);
  const journal = createJournal(db);
  await journal.migrate();

  const requests = async (filter: { since?: number; method?: string; pathPrefix?: string } = {}): Promise<LogEntry[]> => {
    const params = new URLSearchParams({ limit: '100000' });
    if (filter.since !== undefined) params.set('since', String(filter.since));
    if (filter.method) params.set('method', filter.method);
    if (filter.pathPrefix) params.set('path_prefix', filter.pathPrefix);
    const res = await t.admin<{ requests: LogEntry[]; dropped: number }>('GET', `/__emulator/requests?${params.toString()}`);
    if (res.body.dropped > 0) throw new Error('the request log dropped entries: raise requestLogSize');
    return res.body.requests;
  };

  return {
    ...side,
    t,
    organization,
    clock,
    journal,
    db,
    dir: dir.path,
    dbPath,
    newSide,
    requests,
    async lastSeq() {
      const res = await t.admin<{ next_seq: number }>('GET', '/__emulator/requests?limit=1');
      return res.body.next_seq;
    },
    async close() {
      await journal.close();
      await t.close();
      dir.cleanup();
    },
  };
}

/** A policy for the harness organization: the defaults, with extra YAML lines appended. */
export function testPolicy(organizationId: string, extra = ''): { policy: Policy; text: string } {
  const text = `organization_id: "${organizationId}"\ninactivity: 24 months\n${extra}`;
  return { policy: parsePolicy(text, 'test-policy.yaml'), text };
}

export async function snapshotContacts(journal: Journal, snapshotId: string): Promise<SnapshotContact[]> {
  const all: SnapshotContact[] = [];
  for await (const page of journal.snapshotContacts(snapshotId)) all.push(...page);
  return all;
}

/** Scan with the harness's port and clock, plan, and save the plan. */
export async function scanAndPlan(h: EngineHarness, extraPolicy = ''): Promise<{ snapshot: SnapshotInfo; plan: Plan; policy: Policy; contacts: SnapshotContact[] }> {
  const { policy, text } = testPolicy(h.organization, extraPolicy);
  const snapshot = await scan({ port: h.port, journal: h.journal, policy, now: h.clock.now() });
  const contacts = await snapshotContacts(h.journal, snapshot.snapshotId);
  const plan = planContacts(policy, text, snapshot, contacts);
  await h.journal.savePlan(plan);
  return { snapshot, plan, policy, contacts };
}

/** Every item of a Books list endpoint, read raw over HTTP (not through the client), 200 a page. */
export async function rawList<T>(t: TestEmulator, path: string, key: string, query: Record<string, string> = {}): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const res = await t.call<Record<string, unknown>>('GET', path, { query: { ...query, page, per_page: 200 } });
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    items.push(...(res.body[key] as T[]));
    if (!(res.body.page_context as { has_more_page: boolean }).has_more_page) return { items, pages: page };
  }
}

/** A contact's status, read raw over HTTP (with the ready-made token unless another is given). */
export async function contactStatus(t: TestEmulator, contactId: string, token?: string): Promise<string> {
  const res = await t.call<{ contact?: { status: string } }>('GET', `/contacts/${contactId}`, token === undefined ? {} : { token });
  if (res.status !== 200 || !res.body.contact) throw new Error(`GET /contacts/${contactId} answered ${res.status}`);
  return res.body.contact.status;
}

/** `/books/v3/contacts/{id}/(active|inactive)` → [id, status], or undefined for other paths. */
export function statusChangeOf(entry: LogEntry): [string, 'active' | 'inactive'] | undefined {
  if (entry.method !== 'POST') return undefined;
  const m = /^\/books\/v3\/contacts\/(\d+)\/(active|inactive)$/.exec(entry.path);
  return m ? [m[1] as string, m[2] as 'active' | 'inactive'] : undefined;
}

/** Successful (HTTP 200, code 0) status changes per contact in a slice of the log. */
export function successfulStatusChanges(entries: LogEntry[]): Map<string, Array<'active' | 'inactive'>> {
  const out = new Map<string, Array<'active' | 'inactive'>>();
  for (const e of entries) {
    const change = statusChangeOf(e);
    if (!change || e.status !== 200 || e.code !== 0) continue;
    const list = out.get(change[0]) ?? [];
    list.push(change[1]);
    out.set(change[0], list);
  }
  return out;
}
