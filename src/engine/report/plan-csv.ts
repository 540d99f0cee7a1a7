/**
 * The plan as CSV: a header and one row per step, then one row per exclusion, in plan order.
 * Money columns are plain numbers (`-12.5`, not `'-12.50`); text is quoted and neutralised
 * against formula injection by `csvCell`. Ids are written as the digit strings they are (a
 * spreadsheet may still show a 19-digit id in scientific notation unless the column is text).
 */
import type { Evidence, InMemoryPlan } from '../types.js';
import { csvDocument, type CsvValue } from './csv.js';
import { describeLastActivity } from './last-activity.js';

export const PLAN_CSV_COLUMNS = [
  'contact_id', 'contact_name', 'contact_type', 'effect', 'reasons', 'detail', 'last_activity_date', 'last_activity_type', 'activity_since',
  'created_time', 'receivable', 'payable', 'unused_credits_receivable', 'unused_credits_payable', 'last_activity_number', 'last_activity',
] as const;

function evidenceCells(e: Evidence): CsvValue[] {
  return [
    e.lastActivityDate ?? '', e.lastActivityType ?? '', e.activitySince, e.createdTime,
    e.receivable, e.payable, e.unusedCreditsReceivable, e.unusedCreditsPayable, e.lastActivityNumber ?? '', describeLastActivity(e),
  ];
}

export function planToCsv(plan: InMemoryPlan): string {
  const rows: CsvValue[][] = [[...PLAN_CSV_COLUMNS]];
  for (const s of plan.steps) {
    rows.push([s.contactId, s.contactName, s.contactType, s.action, '', s.reason, ...evidenceCells(s.evidence)]);
  }
  for (const e of plan.excluded) {
    rows.push([e.contactId, e.contactName, e.contactType, 'excluded', e.reasons.join(';'), e.detail, ...evidenceCells(e.evidence)]);
  }
  return csvDocument(rows);
}
