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

interface Seen {
  date: string;
  type: TransactionType;
  id: string;
  number: string;
  /** Counted activity since the cutoff. */
  recent: number;
  byType: Partial<Record<TransactionType, string>>;
  documents: Partial<Record<TransactionType, { id: string; number: string }>>;
  history: HistoryCounts;
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

  // Per contact: the latest document of each type, the latest of all, and the history's counts.
  const seen = new Map<string, Seen>();
  for (const [index, type] of historyTypes.entries()) {
    progress.transactionType = type;
    progress.typeIndex = index + 1;
    report();
    for await (const page of port.listTransactions(type, { signal })) {
      progress.pages++;
      progress.transactions += page.length;
      for (const t of page) {
        if (t.contactId === '') continue;
        let s = seen.get(t.contactId);
        if (!s) {
          s = { date: t.date, type, id: t.transactionId, number: t.number, recent: 0, byType: {}, documents: {}, history: {} };
          seen.set(t.contactId, s);
        } else if (t.date > s.date || (t.date === s.date && t.transactionId > s.id)) {
          s.date = t.date;
          s.type = type;
          s.id = t.transactionId;
          s.number = t.number;
        }
        const known = s.byType[type];
        if (known === undefined || t.date > known || (t.date === known && t.transactionId > (s.documents[type]?.id ?? ''))) {
          s.byType[type] = t.date;
          s.documents[type] = { id: t.transactionId, number: t.number };
        }
        const h = s.history[type] ?? [0, 0];
        h[0]++;
        h[1] += t.totalCents;
        s.history[type] = h;
        if (counted.has(type) && t.date >= cutoffDate) s.recent++;
      }
      report();
    }
  }
  const historyCalls = port.apiCalls() - callsAtStart;

  progress.phase = 'contacts';
  progress.transactionType = undefined;
  progress.typeIndex = undefined;
  for await (const page of port.listContacts({ status: statuses, signal })) {
    progress.pages++;
    const rows: SnapshotContact[] = page.map((c) => {
      const s = seen.get(c.contactId);
      return {
        ...c,
        lastActivityDate: s?.date,
        lastActivityType: s?.type,
        lastActivityId: s?.id,
        lastActivityNumber: s?.number,
        activityCount: s?.recent ?? 0,
        activityByType: s?.byType ?? {},
        documentByType: s?.documents ?? {},
        history: s?.history ?? {},
      };
    });
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
