/**
 * A CRM event accepted by `sunset serve` survives a SIGKILL: the built CLI runs as a real child
 * process (`users add`, then `serve --emulator URL --db FILE --port 0 --per-minute 6000`) against a
 * real emulator with high limits; a signed webhook gets its 202, the process is killed while the
 * processor is held up by an emulator latency fault, and `serve` started again on the same
 * journal applies the event: the contact ends inactive with exactly one successful status change
 * in the emulator's request log, and /api/webhooks shows the event applied.
 *
 * Two kill points: during the CRM lookup (the event is stored but nothing else happened), and
 * during the status change call itself (Zoho made the change, the journal had not recorded it).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type ChildProc } from '../helpers/cli.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { rawList, successfulStatusChanges, type LogEntry } from '../helpers/engine.js';
import { PASSWORD, sessionFor, signHook, signIn, until, USER, type SignedIn } from '../helpers/service.js';

const cli = createHarness();
let t: TestEmulator;
let linked: Array<{ contact_id: string; zcrm_account_id: string }> = [];

beforeAll(async () => {
  t = await startTestEmulator({ contacts: 80, randomSeed: 3, limits: { enabled: true, perMinute: 1_000_000, daily: 1_000_000, inFlight: 100 } });
  const all = (await rawList<{ contact_id: string; zcrm_account_id: string; status: string }>(t, '/contacts', 'contacts', { filter_by: 'Status.All' })).items;
  linked = all.filter((c) => c.zcrm_account_id && c.status === 'active');
  if (linked.length < 2) throw new Error('too few CRM-linked contacts');
});
afterEach(async () => {
  await cli.cleanup();
  await t.admin('DELETE', '/__emulator/faults');
});
afterAll(async () => {
  await cli.cleanupAll();
  await t.close();
});

async function requests(since: number): Promise<LogEntry[]> {
  const r = await t.admin<{ requests: LogEntry[]; dropped: number }>('GET', `/__emulator/requests?since=${since}&limit=100000`);
  expect(r.body.dropped).toBe(0);
  return r.body.requests;
}
async function lastSeq(): Promise<number> {
  return (await t.admin<{ next_seq: number }>('GET', '/__emulator/requests?limit=1')).body.next_seq;
}
async function status(contactId: string): Promise<string> {
  const r = await t.call<{ contact: { status: string } }>('GET', `/contacts/${contactId}`);
  return r.body.contact.status;
}
async function faultsFired(): Promise<number> {
  const r = await t.admin<{ faults: Array<{ fired: number }> }>('GET', '/__emulator/faults');
  return r.body.faults.reduce((n, f) => n + f.fired, 0);
}

interface Served {
  proc: ChildProc;
  origin: string;
}

async function serve(db: string, home: string): Promise<Served> {
  const proc = cli.spawn(['serve', '--emulator', t.origin, '--db', db, '--port', '0', '--per-minute', '6000'], { env: { SUNSET_HOME: home }, timeoutMs: 60_000 });
  await proc.waitFor((out) => /Sunset is serving http:\/\/\S+/.test(out));
  const origin = /Sunset is serving (http:\/\/[^\s]+)/.exec(proc.stdout)![1]!;
  return { proc, origin };
}

function readEvents(db: string): Array<{ event_id: string; state: string; run_id: string | null }> {
  const sqlite = new Database(db, { readonly: true });
  try {
    return sqlite.prepare('SELECT event_id, state, run_id FROM webhook_events').all() as Array<{ event_id: string; state: string; run_id: string | null }>;
  } finally {
    sqlite.close();
  }
}

async function trial(kind: 'lookup' | 'status-change'): Promise<void> {
  const dir = cli.temp('sunset-serve-crash-');
  const db = join(dir, 'sunset.db');
  const home = join(dir, 'home');
  const env = { SUNSET_HOME: home, SUNSET_PASSWORD: PASSWORD };
  const added = await cli.run(['users', 'add', USER, '--db', db], { env });
  expect(added.code, added.stderr).toBe(0);

  // 1. The first process: set up the webhook, accept one event, get killed.
  const first = await serve(db, home);
  const session: SignedIn = await signIn(first.origin);
  const configured = await session.request<{ secret: string }>('PUT', `/api/orgs/${t.organization}/webhook`, { body: { mode: 'hmac' } });
  expect(configured.status, configured.text).toBe(200);
  const secret = configured.json.secret;
  const contact = linked.shift()!;
  expect(await status(contact.contact_id)).toBe('active');
  const seq = await lastSeq();
  const fault = kind === 'lookup' ? 'latency:3000,count=1,method=GET,path=/contacts' : 'latency:1000,count=1,method=POST,path=/contacts/*/inactive';
  expect((await t.admin('POST', '/__emulator/faults', { faults: [fault] })).status).toBe(200);

  const body = JSON.stringify({ crm_account_id: contact.zcrm_account_id, status: 'Churned', event_id: `crash-${kind}` });
  const accepted = await fetch(`${first.origin}/hooks/crm/${t.organization}`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...signHook(secret, body, Math.floor(Date.now() / 1000)) },
  });
  const answer = (await accepted.json()) as { eventId: string; state: string };
  expect(accepted.status).toBe(202);
  // Killed as soon as the processor's call (the lookup, or the status change) is held at the emulator.
  await until(async () => ((await faultsFired()) === 1 ? true : undefined), `the ${kind} call reaching the emulator`);
  first.proc.kill('SIGKILL');
  const exit = await first.proc.exited;
  expect(exit.signal).toBe('SIGKILL');

  // What the killed process left: the event, stored before its 202; nothing applied.
  const left = readEvents(db);
  expect(left).toHaveLength(1);
  expect(left[0]!.event_id).toBe(answer.eventId);
  expect(['accepted', 'processing']).toContain(left[0]!.state);
  if (kind === 'lookup') {
    expect(left[0]!.state).toBe('accepted');
    expect(await status(contact.contact_id)).toBe('active');
  } else {
    expect(left[0]!.state).toBe('processing');
    expect(left[0]!.run_id).toMatch(/^run-crm-/);
    // The call the dead process made still lands at Zoho; wait for it, so the restart meets a
    // contact that is already inactive and a journal that does not know it yet.
    await until(async () => ((await requests(seq)).some((e) => e.method === 'POST' && e.path === `/books/v3/contacts/${contact.contact_id}/inactive` && e.status === 200) ? true : undefined), 'the held status change to land');
    expect(await status(contact.contact_id)).toBe('inactive');
  }

  // 2. The second process on the same journal picks the event up and applies it.
  const second = await serve(db, home);
  const again = await sessionFor(second.origin, session.token); // sessions live in the journal too
  const applied = await until(async () => {
    const r = await again.get<Array<{ eventId: string; state: string; runId: string | null }>>(`/api/webhooks?org=${t.organization}`);
    const e = r.json.find((x) => x.eventId === answer.eventId);
    return e && e.state !== 'accepted' && e.state !== 'processing' ? e : undefined;
  }, `event ${answer.eventId} settles after the restart`);
  expect(applied.state).toBe('applied');
  expect(await status(contact.contact_id)).toBe('inactive');
  const changes = successfulStatusChanges(await requests(seq));
  expect(changes, 'exactly one successful status change, for that contact').toEqual(new Map([[contact.contact_id, ['inactive']]]));
  const run = await until(async () => {
    const r = await again.get<{ run: { state: string; kind: string }; counts: { changed: number; total: number } }>(`/api/runs/${applied.runId}`);
    return r.status === 200 && r.json.run.state === 'done' ? r.json : undefined;
  }, 'the crm run done');
  expect(run.run.kind).toBe('crm');
  expect(run.counts).toMatchObject({ total: 1, changed: 1 });
  const events = await again.get<unknown[]>(`/api/webhooks?org=${t.organization}`);
  expect(events.json).toHaveLength(1);

  // Neither process wrote a secret to its output.
  for (const proc of [first.proc, second.proc]) {
    for (const secretText of [secret, session.token, session.csrfToken, PASSWORD]) {
      expect(proc.stdout + proc.stderr).not.toContain(secretText);
    }
  }
}

describe('serve killed right after accepting a CRM event', () => {
  it('killed during the CRM lookup: the restarted service applies the event once', async () => {
    await trial('lookup');
  });

  it('killed during the status change call: the restart confirms it and does not change it again', async () => {
    await trial('status-change');
  });
});
