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
import { newId, type Journal, type ScanActivityRow } from './storage/journal.js';
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

/** A page's worth of history (or more) merged per contact and type before it goes to the journal. */
const ACTIVITY_FLUSH = 5000;

/**
 * The history read so far that is not yet in the journal, per contact and type: count, total,
 * counted activity since the cutoff, and the latest document (the later date; on the same date the
 * greater id). At most ACTIVITY_FLUSH entries: then they are merged into the journal's
 * (`addScanActivity`), so the scan's memory does not grow with the organization.
 */
function createActivityBuffer(journal: Journal, snapshotId: string, counted: ReadonlySet<TransactionType>, cutoffDate: string) {
  const rows = new Map<string, ScanActivityRow>();
  const flush = async (): Promise<void> => {
    if (rows.size === 0) return;
    const batch = [...rows.values()];
    rows.clear();
    await journal.addScanActivity(snapshotId, batch);
  };
  return {
    async add(type: TransactionType, t: { contactId: string; date: string; transactionId: string; number: string; totalCents: number }): Promise<void> {
      const key = `${t.contactId}\u0000${type}`;
      const recent = counted.has(type) && t.date >= cutoffDate ? 1 : 0;
      const row = rows.get(key);
      if (!row) {
        rows.set(key, { contactId: t.contactId, transactionType: type, count: 1, totalCents: t.totalCents, recent, latestDate: t.date, latestId: t.transactionId, latestNumber: t.number });
        if (rows.size >= ACTIVITY_FLUSH) await flush();
        return;
      }
      row.count++;
      row.totalCents += t.totalCents;
      row.recent += recent;
      if (t.date > row.latestDate || (t.date === row.latestDate && t.transactionId > row.latestId)) {
        row.latestDate = t.date;
        row.latestId = t.transactionId;
        row.latestNumber = t.number;
      }
    },
    flush,
  };
}

type ActivityFields = Pick<SnapshotContact, 'lastActivityDate' | 'lastActivityType' | 'lastActivityId' | 'lastActivityNumber' | 'activityCount' | 'activityByType' | 'documentByType' | 'history'>;

/** A contact's activity and history from its rows (types in `types` order). */
function fieldsOf(rows: readonly ScanActivityRow[], types: readonly TransactionType[], counted: ReadonlySet<TransactionType>): ActivityFields {
  if (rows.length === 0) {
    return { lastActivityDate: undefined, lastActivityType: undefined, lastActivityId: undefined, lastActivityNumber: undefined, activityCount: 0, activityByType: {}, documentByType: {}, history: {} };
  }
  const byType = new Map(rows.map((r) => [r.transactionType, r]));
  const activityByType: Partial<Record<TransactionType, string>> = {};
  const history: HistoryCounts = {};
  // [0]: the latest document of all; [1]: the latest of a counted type.
  const latest: [ScanActivityRow | undefined, ScanActivityRow | undefined] = [undefined, undefined];
  const isLater = (r: ScanActivityRow, than: ScanActivityRow | undefined): boolean =>
    than === undefined || r.latestDate > than.latestDate || (r.latestDate === than.latestDate && r.latestId > than.latestId);
  let activityCount = 0;
  for (const type of types) {
    const r = byType.get(type);
    if (!r) continue;
    activityByType[type] = r.latestDate;
    history[type] = [r.count, r.totalCents];
    activityCount += r.recent;
    if (isLater(r, latest[0])) latest[0] = r;
    if (counted.has(type) && isLater(r, latest[1])) latest[1] = r;
  }
  const documentByType: Partial<Record<TransactionType, { id: string; number: string }>> = {};
  for (const doc of [latest[1], latest[0]]) if (doc) documentByType[doc.transactionType] = { id: doc.latestId, number: doc.latestNumber };
  const all = latest[0]!;
  return {
    lastActivityDate: all.latestDate,
    lastActivityType: all.transactionType,
    lastActivityId: all.latestId,
    lastActivityNumber: all.latestNumber,
    activityCount,
    activityByType,
    documentByType,
    history,
  };
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

  // Per contact and type: the latest document and the history's counts, gathered in the journal.
  const activity = createActivityBuffer(journal, snapshotId, counted, cutoffDate);
  for (const [index, type] of historyTypes.entries()) {
    progress.transactionType = type;
    progress.typeIndex = index + 1;
    report();
    for await (const page of port.listTransactions(type, { signal })) {
      progress.pages++;
      progress.transactions += page.length;
      for (const t of page) if (t.contactId !== '') await activity.add(type, t);
      report();
    }
  }
  await activity.flush();
  const historyCalls = port.apiCalls() - callsAtStart;

  progress.phase = 'contacts';
  progress.transactionType = undefined;
  progress.typeIndex = undefined;
  for await (const page of port.listContacts({ status: statuses, signal })) {
    progress.pages++;
    const byContact = new Map<string, ScanActivityRow[]>();
    for (const r of await journal.scanActivity(snapshotId, page.map((c) => c.contactId))) {
      const list = byContact.get(r.contactId);
      if (list) list.push(r);
      else byContact.set(r.contactId, [r]);
    }
    const rows: SnapshotContact[] = page.map((c) => ({ ...c, ...fieldsOf(byContact.get(c.contactId) ?? [], historyTypes, counted) }));
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
