/**
 * The scan: reads an organization with as few calls as the API allows — the contacts (200 a page)
 * and, per activity type, the transactions dated since the cutoff (200 a page) — never one call per
 * contact. Stores a snapshot in the journal as it goes.
 */
import type { TransactionType } from '../zoho/index.js';
import { cutoffFor } from './plan.js';
import { activityTypesFor, type Policy } from './policy.js';
import type { BooksPort } from './port.js';
import { newId, type Journal } from './storage/journal.js';
import type { SnapshotContact, SnapshotInfo } from './types.js';

export interface ScanProgress {
  phase: 'transactions' | 'contacts' | 'done';
  transactionType?: TransactionType;
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

export async function scan(options: ScanOptions): Promise<SnapshotInfo> {
  const { port, journal, policy, now, signal } = options;
  const callsAtStart = port.apiCalls();
  const cutoffDate = cutoffFor(policy, now);
  const activityTypes = activityTypesFor(policy);
  const statuses = policy.reactivate ? 'all' : 'active';
  const snapshotId = newId('snap', now);
  await journal.beginSnapshot({ snapshotId, organizationId: port.organizationId, takenAt: now, cutoffDate, activityTypes, statuses });
  const progress: ScanProgress = { phase: 'transactions', pages: 0, contacts: 0, transactions: 0, apiCalls: 0 };
  const report = (): void => {
    progress.apiCalls = port.apiCalls() - callsAtStart;
    options.onProgress?.({ ...progress });
  };

  // Latest activity per contact since the cutoff.
  const activity = new Map<string, { date: string; type: TransactionType; id: string; count: number; byType: Partial<Record<TransactionType, string>> }>();
  for (const type of activityTypes) {
    progress.transactionType = type;
    for await (const page of port.listTransactions(type, { dateStart: cutoffDate, signal })) {
      progress.pages++;
      progress.transactions += page.length;
      for (const t of page) {
        if (t.contactId === '' || t.date < cutoffDate) continue;
        const seen = activity.get(t.contactId);
        if (!seen) activity.set(t.contactId, { date: t.date, type, id: t.transactionId, count: 1, byType: { [type]: t.date } });
        else {
          seen.count++;
          if ((seen.byType[type] ?? '') < t.date) seen.byType[type] = t.date;
          if (t.date > seen.date || (t.date === seen.date && t.transactionId > seen.id)) {
            seen.date = t.date;
            seen.type = type;
            seen.id = t.transactionId;
          }
        }
      }
      report();
    }
  }

  progress.phase = 'contacts';
  progress.transactionType = undefined;
  for await (const page of port.listContacts({ status: statuses, signal })) {
    progress.pages++;
    const rows: SnapshotContact[] = page.map((c) => {
      const a = activity.get(c.contactId);
      return {
        ...c,
        lastActivityDate: a?.date,
        lastActivityType: a?.type,
        lastActivityId: a?.id,
        activityCount: a?.count ?? 0,
        activityByType: a?.byType ?? {},
      };
    });
    await journal.addSnapshotContacts(snapshotId, rows);
    progress.contacts += rows.length;
    report();
  }
  const apiCalls = port.apiCalls() - callsAtStart;
  await journal.finishSnapshot(snapshotId, { apiCalls, contactCount: progress.contacts, transactionCount: progress.transactions });
  progress.phase = 'done';
  report();
  return (await journal.getSnapshot(snapshotId))!;
}
