/**
 * Proof that no history was lost: per contact and transaction type, the count and total of its
 * transactions before a run and now.
 *
 * "Before" is taken once: by the scan, for runs of plans made from a snapshot of the whole history
 * (no call at apply time), or read when the run starts otherwise. "Now" is read by whichever costs
 * fewer calls: whole transaction lists (200 a page, the scan's figure says how many pages) or one
 * list per contact and type for a small run. A difference is explained, not a loss, when the
 * contact has a transaction of that type modified since "before" was taken (it traded: that is
 * the business going on, which revalidation also saw); a count that dropped with nothing modified
 * is a deletion, and is reported as a loss.
 */
import { TRANSACTION_TYPES, type TransactionType } from '../zoho/index.js';
import type { BooksPort } from './port.js';
import type { FingerprintRow, FingerprintSet, Journal } from './storage/journal.js';
import type { ContactType } from '../zoho/index.js';

export type ReadMethod = 'pages' | 'per-contact';

export interface FingerprintProgress {
  phase: 'before' | 'after' | 'explain';
  /** Lists read so far (pages, or contacts × types) and how many are expected (an estimate for pages). */
  done: number;
  expected: number | undefined;
  method: ReadMethod;
}

export interface FingerprintCost {
  method: ReadMethod;
  /** Calls it will take (an estimate for whole-list pages: the last scan's count). */
  calls: number;
  /** False when there was no scan to estimate whole-list pages from. */
  estimated: boolean;
}

export interface RunContacts {
  contacts: Map<string, ContactType>;
  types: TransactionType[];
}

function typesOf(contactTypes: Iterable<ContactType>): TransactionType[] {
  const wanted = new Set(contactTypes);
  return Object.values(TRANSACTION_TYPES).filter((t) => wanted.has(t.contactType)).map((t) => t.type);
}

/** Contacts (id → customer or vendor) with the transaction types that matter for them. */
export function contactsToRead(contacts: Map<string, ContactType>): RunContacts {
  return { contacts, types: typesOf(contacts.values()) };
}

/** The contacts of a run and the transaction types that matter for them. */
export async function runContacts(journal: Journal, runId: string): Promise<RunContacts> {
  return contactsToRead(new Map((await journal.steps(runId)).map((s) => [s.contactId, s.contactType])));
}

/**
 * Which read costs fewer calls for these contacts: one list per contact and type (at least one
 * call each), or whole lists, as many pages as the organization's latest scan of the whole history
 * took. Without such a scan, whole lists unless the run is small.
 */
export async function fingerprintCost(journal: Journal, organizationId: string, run: RunContacts): Promise<FingerprintCost> {
  let perContact = 0;
  for (const type of run.contacts.values()) perContact += typesOf([type]).length;
  const snapshot = await journal.latestSnapshot(organizationId);
  const pages = snapshot?.history === 'full' ? Math.max(snapshot.historyCalls, run.types.length) : undefined;
  if (pages === undefined) {
    return perContact <= 60 ? { method: 'per-contact', calls: perContact, estimated: true } : { method: 'pages', calls: perContact, estimated: false };
  }
  return perContact < pages ? { method: 'per-contact', calls: perContact, estimated: true } : { method: 'pages', calls: pages, estimated: true };
}

export async function fingerprint(
  port: BooksPort,
  run: RunContacts,
  method: ReadMethod,
  options: { signal?: AbortSignal; expected?: number; onProgress?: (p: FingerprintProgress) => void; phase?: 'before' | 'after' } = {},
): Promise<FingerprintRow[]> {
  const rows = new Map<string, FingerprintRow>();
  const add = (contactId: string, type: TransactionType, totalCents: number): void => {
    const key = `${contactId}:${type}`;
    const row = rows.get(key) ?? { contactId, transactionType: type, count: 0, totalCents: 0 };
    row.count++;
    row.totalCents += totalCents;
    rows.set(key, row);
  };
  let done = 0;
  const tick = (): void => options.onProgress?.({ phase: options.phase ?? 'after', done: ++done, expected: options.expected, method });
  if (method === 'pages') {
    for (const type of run.types) {
      for await (const page of port.listTransactions(type, { signal: options.signal })) {
        for (const t of page) if (run.contacts.has(t.contactId)) add(t.contactId, type, t.totalCents);
        tick();
      }
    }
  } else {
    for (const [contactId, contactType] of run.contacts) {
      for (const type of typesOf([contactType])) {
        for await (const page of port.listTransactions(type, { contactId, signal: options.signal })) {
          for (const t of page) if (t.contactId === contactId) add(contactId, type, t.totalCents);
        }
        tick();
      }
    }
  }
  return [...rows.values()].sort((a, b) => (a.contactId + a.transactionType < b.contactId + b.transactionType ? -1 : 1));
}

/**
 * Reads and records a run's "before" fingerprint (when its plan's snapshot did not hold one), by
 * the cheaper method. Returns the number of rows.
 */
export async function recordBefore(
  journal: Journal,
  port: BooksPort,
  runId: string,
  options: { now: number; signal?: AbortSignal; onProgress?: (p: FingerprintProgress) => void },
): Promise<number> {
  const run = await runContacts(journal, runId);
  const cost = await fingerprintCost(journal, port.organizationId, run);
  const rows = await fingerprint(port, run, cost.method, { signal: options.signal, expected: cost.estimated ? cost.calls : undefined, onProgress: options.onProgress, phase: 'before' });
  await journal.saveFingerprint(runId, 'before', rows, { takenAt: options.now, source: 'read' });
  return rows.length;
}

export interface VerifyDifference {
  contactId: string;
  transactionType: TransactionType;
  before: { count: number; totalCents: number };
  after: { count: number; totalCents: number };
  /** Why it differs when it is not a loss: the contact traded since "before" was taken. Null: unexplained. */
  explained: string | null;
}

export interface VerifyResult {
  runId: string;
  contacts: number;
  transactions: number;
  totalCents: number;
  /** Every difference, explained or not. */
  differences: VerifyDifference[];
  /** True when every difference is explained by trading since "before" (and there is a "before"). */
  ok: boolean;
  hasBefore: boolean;
  /** When "before" was taken and how (the scan's snapshot, or read when the run started). */
  before: FingerprintSet | null;
  method: ReadMethod;
  apiCalls: number;
}

export async function verifyRun(
  journal: Journal,
  port: BooksPort,
  runId: string,
  options: { now: number; signal?: AbortSignal; onProgress?: (p: FingerprintProgress) => void; method?: ReadMethod },
): Promise<VerifyResult> {
  const callsAtStart = port.apiCalls();
  const beforeSet = await journal.fingerprintSet(runId, 'before');
  const before = await journal.getFingerprint(runId, 'before');
  const run = await runContacts(journal, runId);
  const cost = await fingerprintCost(journal, port.organizationId, run);
  const method = options.method ?? cost.method;
  const after = await fingerprint(port, run, method, { signal: options.signal, expected: cost.estimated ? cost.calls : undefined, onProgress: options.onProgress, phase: 'after' });
  await journal.saveFingerprint(runId, 'after', after, { takenAt: options.now, source: 'read' });
  const key = (r: FingerprintRow): string => `${r.contactId}:${r.transactionType}`;
  const afterMap = new Map(after.map((r) => [key(r), r]));
  const beforeMap = new Map(before.map((r) => [key(r), r]));
  const differences: VerifyDifference[] = [];
  for (const k of new Set([...afterMap.keys(), ...beforeMap.keys()])) {
    const b = beforeMap.get(k);
    const a = afterMap.get(k);
    if (!b || !a || b.count !== a.count || b.totalCents !== a.totalCents) {
      const ref = (a ?? b)!;
      differences.push({
        contactId: ref.contactId, transactionType: ref.transactionType, explained: null,
        before: { count: b?.count ?? 0, totalCents: b?.totalCents ?? 0 }, after: { count: a?.count ?? 0, totalCents: a?.totalCents ?? 0 },
      });
    }
  }
  if (beforeSet && differences.length > 0) {
    // What was created or edited since "before": one modified-since list per type that differs.
    const types = [...new Set(differences.map((d) => d.transactionType))];
    const modified = new Map<string, { number: string; date: string }>();
    let done = 0;
    for (const type of types) {
      for await (const page of port.listTransactions(type, { modifiedSince: beforeSet.takenAt - 2_000, signal: options.signal })) {
        for (const t of page) if (run.contacts.has(t.contactId) && !modified.has(`${t.contactId}:${type}`)) modified.set(`${t.contactId}:${type}`, { number: t.number, date: t.date });
        options.onProgress?.({ phase: 'explain', done: ++done, expected: undefined, method: 'pages' });
      }
    }
    for (const d of differences) {
      const m = modified.get(`${d.contactId}:${d.transactionType}`);
      if (m) d.explained = `traded since ${new Date(beforeSet.takenAt).toISOString().slice(0, 16).replace('T', ' ')} UTC: ${TRANSACTION_TYPES[d.transactionType].label} ${m.number || ''} dated ${m.date} was created or changed`.replace('  ', ' ');
    }
  }
  differences.sort((a, b) => (a.contactId + a.transactionType < b.contactId + b.transactionType ? -1 : 1));
  const result: VerifyResult = {
    runId,
    contacts: new Set(after.map((r) => r.contactId)).size,
    transactions: after.reduce((n, r) => n + r.count, 0),
    totalCents: after.reduce((n, r) => n + r.totalCents, 0),
    differences,
    ok: beforeSet !== undefined && differences.every((d) => d.explained !== null),
    hasBefore: beforeSet !== undefined,
    before: beforeSet ?? null,
    method,
    apiCalls: port.apiCalls() - callsAtStart,
  };
  await journal.saveVerification(runId, options.now, result.ok, result);
  return result;
}
