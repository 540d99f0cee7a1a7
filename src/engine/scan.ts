/**
 * The scan: reads an organization with as few calls as the API allows — every transaction of the
 * types that matter (200 a page), whatever its date, then the contacts (200 a page) — never one
 * call per contact. Stores a snapshot in the journal as it goes.
 *
 * Why the whole history and not only activity since the cutoff: a reviewer needs each dormant
 * contact's real last activity ("invoice INV-000123 on 2024-04-02", or "never traded"), which lies
 * before the cutoff by definition; and the same pages give every contact's count and total of
 * transactions per type, the "before" fingerprint that `verify` compares with. Taking it here means
 * an apply starts changing contacts at once instead of first reading every page again (the apply's
 * revalidation covers the time between the scan and the run). Since-the-cutoff pages are a subset of
 * these, so the whole job (scan + apply + verify) costs fewer calls than reading them separately.
 */
import { TRANSACTION_TYPES, type TransactionType } from '../zoho/index.js';
import { cutoffFor } from './plan.js';
import { activityTypesFor, type Policy } from './policy.js';
import type { BooksPort } from './port.js';
import { newId, type Journal } from './storage/journal.js';
import type { HistoryCounts, SnapshotContact, SnapshotInfo } from './types.js';

export interface ScanProgress {
  phase: 'transactions' | 'contacts' | 'done';
  transactionType?: TransactionType;
  /** Position of `transactionType` among the types read (1-based) and how many there are. */
  typeIndex?: number;
  typeCount?: number;
  pages: number;
  contacts: number;
  transactions: number;
  apiCalls: number;
}

export interface ScanOptions {
  port: BooksPort;
  journal: Journal;
  policy: Policy;
  /** The scan's "now" (epoch ms). */
  now: number;
  onProgress?: (progress: ScanProgress) => void;
  signal?: AbortSignal;
}

/** The transaction types whose whole history a scan for this policy reads: every type of the contact types it covers, and every type it counts. */
export function historyTypesFor(policy: Policy): TransactionType[] {
  const wanted = new Set<TransactionType>(activityTypesFor(policy));
  for (const info of Object.values(TRANSACTION_TYPES)) if (policy.filters.contactTypes.includes(info.contactType)) wanted.add(info.type);
  return Object.values(TRANSACTION_TYPES).map((t) => t.type).filter((t) => wanted.has(t));
}

/**
 * What the scan keeps per contact while it reads the history, in typed arrays rather than an
 * object per contact (at 100,000 contacts and 1.2 M transactions: tens of MB, not hundreds): per
 * type the latest date (as yyyymmdd), the count and the total; the counted activity since the
 * cutoff; and two documents — the latest of all, and the latest of a type the policy counts — with
 * their ids and numbers for the evidence.
 */
class HistoryTable {
  private readonly slots = new Map<string, number>();
  private size = 0;
  private capacity = 0;
  private latestDay = new Int32Array(0);
  private counts = new Int32Array(0);
  private cents = new Float64Array(0);
  private recent = new Int32Array(0);
  /** [0]: the latest document of all; [1]: the latest of a counted type. */
  private readonly docDay: [Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0)];
  private readonly docType: [Int8Array, Int8Array] = [new Int8Array(0), new Int8Array(0)];
  private readonly docId: [string[], string[]] = [[], []];
  private readonly docNumber: [string[], string[]] = [[], []];

  constructor(private readonly types: readonly TransactionType[], private readonly counted: ReadonlySet<TransactionType>, private readonly cutoffDay: number) {}

  private slot(contactId: string): number {
    let slot = this.slots.get(contactId);
    if (slot === undefined) {
      if (this.size === this.capacity) this.grow();
      slot = this.size++;
      this.slots.set(contactId, slot);
    }
    return slot;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.capacity * 2);
    const t = this.types.length;
    this.latestDay = grown(this.latestDay, new Int32Array(capacity * t));
    this.counts = grown(this.counts, new Int32Array(capacity * t));
    this.cents = grown(this.cents, new Float64Array(capacity * t));
    this.recent = grown(this.recent, new Int32Array(capacity));
    for (const k of [0, 1] as const) {
      this.docDay[k] = grown(this.docDay[k], new Int32Array(capacity));
      this.docType[k] = grown(this.docType[k], new Int8Array(capacity));
    }
    this.capacity = capacity;
  }

  add(typeIndex: number, t: { contactId: string; date: string; transactionId: string; number: string; totalCents: number }): void {
    const slot = this.slot(t.contactId);
    const day = dayOf(t.date);
    const type = this.types[typeIndex]!;
    const cell = slot * this.types.length + typeIndex;
    if (day > this.latestDay[cell]!) this.latestDay[cell] = day;
    this.counts[cell]!++;
    this.cents[cell]! += t.totalCents;
    const counted = this.counted.has(type);
    if (counted && day >= this.cutoffDay) this.recent[slot]!++;
    for (const k of counted ? [0, 1] as const : [0] as const) {
      const known = this.docDay[k][slot]!;
      // The later date wins; on the same date the greater id (the same tie-break as before).
      if (day > known || (day === known && t.transactionId > (this.docId[k][slot] ?? ''))) {
        this.docDay[k][slot] = day;
        this.docType[k][slot] = typeIndex;
        this.docId[k][slot] = t.transactionId;
        this.docNumber[k][slot] = t.number;
      }
    }
  }

  /** The snapshot's view of a contact's activity and history. */
  fieldsOf(contactId: string): Pick<SnapshotContact, 'lastActivityDate' | 'lastActivityType' | 'lastActivityId' | 'lastActivityNumber' | 'activityCount' | 'activityByType' | 'documentByType' | 'history'> {
    const slot = this.slots.get(contactId);
    if (slot === undefined) {
      return { lastActivityDate: undefined, lastActivityType: undefined, lastActivityId: undefined, lastActivityNumber: undefined, activityCount: 0, activityByType: {}, documentByType: {}, history: {} };
    }
    const activityByType: Partial<Record<TransactionType, string>> = {};
    const history: HistoryCounts = {};
    for (const [i, type] of this.types.entries()) {
      const cell = slot * this.types.length + i;
      if (this.counts[cell] === 0) continue;
      activityByType[type] = dateOf(this.latestDay[cell]!);
      history[type] = [this.counts[cell]!, this.cents[cell]!];
    }
    const documentByType: Partial<Record<TransactionType, { id: string; number: string }>> = {};
    for (const k of [1, 0] as const) {
      if (this.docDay[k][slot] === 0) continue;
      documentByType[this.types[this.docType[k][slot]!]!] = { id: this.docId[k][slot]!, number: this.docNumber[k][slot]! };
    }
    return {
      lastActivityDate: dateOf(this.docDay[0][slot]!),
      lastActivityType: this.types[this.docType[0][slot]!],
      lastActivityId: this.docId[0][slot],
      lastActivityNumber: this.docNumber[0][slot],
      activityCount: this.recent[slot]!,
      activityByType,
      documentByType,
      history,
    };
  }
}

/** `to` with `from` copied into its start. */
function grown<A extends Int32Array | Float64Array | Int8Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

/** `2024-04-02` → 20240402 (order kept); 0 is "none". */
function dayOf(date: string): number {
  return Number(date.slice(0, 4)) * 10_000 + Number(date.slice(5, 7)) * 100 + Number(date.slice(8, 10));
}

function dateOf(day: number): string {
  return `${String(Math.floor(day / 10_000)).padStart(4, '0')}-${String(Math.floor(day / 100) % 100).padStart(2, '0')}-${String(day % 100).padStart(2, '0')}`;
}

export async function scan(options: ScanOptions): Promise<SnapshotInfo> {
  const { port, journal, policy, now, signal } = options;
  const callsAtStart = port.apiCalls();
  const cutoffDate = cutoffFor(policy, now);
  const activityTypes = activityTypesFor(policy);
  const counted = new Set(activityTypes);
  const historyTypes = historyTypesFor(policy);
  const statuses = policy.reactivate ? 'all' : 'active';
  const snapshotId = newId('snap', now);
  // The organization's name and currency, for reports (one call).
  const organization = (await port.organizations()).find((o) => o.organizationId === port.organizationId);
  await journal.beginSnapshot({
    snapshotId, organizationId: port.organizationId, target: port.target, organizationName: organization?.name ?? '', currencyCode: organization?.currencyCode ?? '',
    takenAt: now, cutoffDate, activityTypes, statuses, history: 'full', historyTypes,
  });
  const progress: ScanProgress = { phase: 'transactions', pages: 0, contacts: 0, transactions: 0, apiCalls: 0, typeCount: historyTypes.length };
  const report = (): void => {
    progress.apiCalls = port.apiCalls() - callsAtStart;
    options.onProgress?.({ ...progress });
  };

  // Per contact: the latest date of each type, the latest documents, and the history's counts.
  const table = new HistoryTable(historyTypes, counted, dayOf(cutoffDate));
  for (const [index, type] of historyTypes.entries()) {
    progress.transactionType = type;
    progress.typeIndex = index + 1;
    report();
    for await (const page of port.listTransactions(type, { signal })) {
      progress.pages++;
      progress.transactions += page.length;
      for (const t of page) if (t.contactId !== '') table.add(index, t);
      report();
    }
  }
  const historyCalls = port.apiCalls() - callsAtStart;

  progress.phase = 'contacts';
  progress.transactionType = undefined;
  progress.typeIndex = undefined;
  for await (const page of port.listContacts({ status: statuses, signal })) {
    progress.pages++;
    const rows: SnapshotContact[] = page.map((c) => ({ ...c, ...table.fieldsOf(c.contactId) }));
    await journal.addSnapshotContacts(snapshotId, rows);
    progress.contacts += rows.length;
    report();
  }
  const apiCalls = port.apiCalls() - callsAtStart;
  await journal.finishSnapshot(snapshotId, { apiCalls, contactCount: progress.contacts, transactionCount: progress.transactions, historyCalls });
  progress.phase = 'done';
  report();
  return (await journal.getSnapshot(snapshotId))!;
}
