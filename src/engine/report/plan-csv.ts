/**
 * The plan as CSV: a header and one row per step, then one row per exclusion, in plan order.
 * Money columns are plain numbers (`-12.5`, not `'-12.50`); text is quoted and neutralised
 * against formula injection by `csvCell`. Ids are written as the digit strings they are (a
 * spreadsheet may still show a 19-digit id in scientific notation unless the column is text).
 */
import type { Evidence, Exclusion, InMemoryPlan, Plan } from '../types.js';
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

const stepRow = (s: Plan['steps'][number]): CsvValue[] => [s.contactId, s.contactName, s.contactType, s.action, '', s.reason, ...evidenceCells(s.evidence)];
const exclusionRow = (e: Exclusion): CsvValue[] => [e.contactId, e.contactName, e.contactType, 'excluded', e.reasons.join(';'), e.detail, ...evidenceCells(e.evidence)];

export function planToCsv(plan: InMemoryPlan): string {
  return csvDocument([[...PLAN_CSV_COLUMNS], ...plan.steps.map(stepRow), ...plan.excluded.map(exclusionRow)]);
}

/**
 * The same document as `planToCsv`, in pieces: the header and the steps, then one piece per page of
 * exclusions as `exclusions` yields them (`journal.planExclusions(planId)`), so a plan with a
 * hundred thousand exclusions is written without holding them all.
 */
export async function* planCsvChunks(plan: Plan, exclusions: AsyncIterable<Exclusion[]>): AsyncGenerator<string> {
  yield csvDocument([[...PLAN_CSV_COLUMNS], ...plan.steps.map(stepRow)]);
  for await (const page of exclusions) {
    if (page.length > 0) yield csvDocument(page.map(exclusionRow));
  }
}
