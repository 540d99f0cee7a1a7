/**
 * The audit trail (every change a run made, from the journal) as CSV or JSON. Both use the same
 * snake_case fields, in this order: who, when (ISO 8601, UTC), organization_id, run_id, run_kind,
 * contact_id, contact_name, from, to, why.
 */
import type { RunKind } from '../types.js';
import type { AuditRow } from '../storage/journal.js';
import { csvDocument, type CsvValue } from './csv.js';

export interface AuditDocumentRow {
  who: string;
  when: string;
  organization_id: string;
  run_id: string;
  run_kind: RunKind;
  contact_id: string;
  contact_name: string;
  from: 'active' | 'inactive';
  to: 'active' | 'inactive';
  why: string;
}

export const AUDIT_COLUMNS = ['who', 'when', 'organization_id', 'run_id', 'run_kind', 'contact_id', 'contact_name', 'from', 'to', 'why'] as const;

export function auditToJson(rows: AuditRow[]): AuditDocumentRow[] {
  return rows.map((r) => ({
    who: r.actor,
    when: Number.isFinite(r.when) ? new Date(r.when).toISOString() : '',
    organization_id: r.organizationId,
    run_id: r.runId,
    run_kind: r.runKind,
    contact_id: r.contactId,
    contact_name: r.contactName,
    from: r.from,
    to: r.to,
    why: r.why,
  }));
}

export function auditToCsv(rows: AuditRow[]): string {
  const out: CsvValue[][] = [[...AUDIT_COLUMNS]];
  for (const d of auditToJson(rows)) out.push(AUDIT_COLUMNS.map((column) => d[column]));
  return csvDocument(out);
}
