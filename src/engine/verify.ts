/**
 * Proof that no history was lost: per contact and transaction type, the count and total of its
 * transactions before a run and now. Read with whole-list calls (200 a page), not per contact.
 */
import { TRANSACTION_TYPES, type TransactionType } from '../zoho/index.js';
import type { BooksPort } from './port.js';
import type { FingerprintRow, Journal } from './storage/journal.js';

export async function fingerprint(port: BooksPort, contactIds: Set<string>, types: TransactionType[], signal?: AbortSignal): Promise<FingerprintRow[]> {
  const rows = new Map<string, FingerprintRow>();
  for (const type of types) {
    for await (const page of port.listTransactions(type, { signal })) {
      for (const t of page) {
        if (!contactIds.has(t.contactId)) continue;
        const key = `${t.contactId}:${type}`;
        const row = rows.get(key) ?? { contactId: t.contactId, transactionType: type, count: 0, totalCents: 0 };
        row.count++;
        row.totalCents += t.totalCents;
        rows.set(key, row);
      }
    }
  }
  return [...rows.values()].sort((a, b) => (a.contactId + a.transactionType < b.contactId + b.transactionType ? -1 : 1));
}

/** The transaction types that matter for the contacts of a run. */
export async function runTypes(journal: Journal, runId: string): Promise<{ contactIds: Set<string>; types: TransactionType[] }> {
  const steps = await journal.steps(runId);
  const contactTypes = new Set(steps.map((s) => s.contactType));
  return {
    contactIds: new Set(steps.map((s) => s.contactId)),
    types: Object.values(TRANSACTION_TYPES).filter((t) => contactTypes.has(t.contactType)).map((t) => t.type),
  };
}

export async function recordBefore(journal: Journal, port: BooksPort, runId: string, signal?: AbortSignal): Promise<number> {
  const { contactIds, types } = await runTypes(journal, runId);
  const rows = await fingerprint(port, contactIds, types, signal);
  await journal.saveFingerprint(runId, 'before', rows);
  return rows.length;
}

export interface VerifyResult {
  runId: string;
  contacts: number;
  transactions: number;
  totalCents: number;
  differences: Array<{ contactId: string; transactionType: TransactionType; before: { count: number; totalCents: number }; after: { count: number; totalCents: number } }>;
  ok: boolean;
  hasBefore: boolean;
}

export async function verifyRun(journal: Journal, port: BooksPort, runId: string, signal?: AbortSignal): Promise<VerifyResult> {
  const before = await journal.getFingerprint(runId, 'before');
  const { contactIds, types } = await runTypes(journal, runId);
  const after = await fingerprint(port, contactIds, types, signal);
  await journal.saveFingerprint(runId, 'after', after);
  const key = (r: FingerprintRow): string => `${r.contactId}:${r.transactionType}`;
  const afterMap = new Map(after.map((r) => [key(r), r]));
  const beforeMap = new Map(before.map((r) => [key(r), r]));
  const differences: VerifyResult['differences'] = [];
  for (const k of new Set([...afterMap.keys(), ...beforeMap.keys()])) {
    const b = beforeMap.get(k);
    const a = afterMap.get(k);
    if (!b || !a || b.count !== a.count || b.totalCents !== a.totalCents) {
      const ref = (a ?? b)!;
      differences.push({
        contactId: ref.contactId, transactionType: ref.transactionType,
        before: { count: b?.count ?? 0, totalCents: b?.totalCents ?? 0 }, after: { count: a?.count ?? 0, totalCents: a?.totalCents ?? 0 },
      });
    }
  }
  const hasBefore = await journal.hasFingerprint(runId, 'before');
  return {
    runId,
    contacts: new Set(after.map((r) => r.contactId)).size,
    transactions: after.reduce((n, r) => n + r.count, 0),
    totalCents: after.reduce((n, r) => n + r.totalCents, 0),
    differences,
    ok: hasBefore && differences.length === 0,
    hasBefore,
  };
}
