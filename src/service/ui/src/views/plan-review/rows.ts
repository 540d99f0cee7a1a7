/**
 * The review rows as the service sends them (GET /api/plans/PLAN/rows): arrays, not one object per
 * contact (tens of thousands of them), read by column. The indexes come from PLAN_ROW_COLUMNS, so
 * each field keeps its type from the PlanRow tuple.
 */
import { PLAN_ROW_COLUMNS, type PlanRow } from '../../../../api-types.js';

type Columns = typeof PLAN_ROW_COLUMNS;
type IndexOf<K extends Columns[number], Seen extends unknown[] = []> = Columns[Seen['length']] extends K ? Seen['length'] : IndexOf<K, [...Seen, unknown]>;
const at = <K extends Columns[number]>(name: K): IndexOf<K> => PLAN_ROW_COLUMNS.indexOf(name) as IndexOf<K>;

export const ID = at('contactId');
export const NAME = at('contactName');
export const TYPE = at('contactType');
export const EFFECT = at('effect');
export const REASONS = at('reasons');
export const LAST_DATE = at('lastActivityDate');
export const RECEIVABLE = at('receivable');
export const PAYABLE = at('payable');
export const CREDITS = at('credits');
export const CREATED = at('createdTime');
export const DETAIL = at('detail');
/** The last activity in words, as every report says it ("invoice INV-000123 on 2024-04-02", "never traded"). */
export const LAST_WORDS = at('lastActivity');

/** A step of the plan (a change), not an exclusion. */
export const isStep = (r: PlanRow): boolean => r[EFFECT] === 'deactivate' || r[EFFECT] === 'activate';

/** The rule (a step) or the exclusion reasons (`;`-joined in the row). */
export function reasonsOf(r: PlanRow): string[] {
  const text = r[REASONS];
  if (text === '') return [];
  return text.indexOf(';') === -1 ? [text] : text.split(';').map((x) => x.trim()).filter(Boolean);
}

export type SortKey = 'name' | 'lastActivity' | 'receivable' | 'payable' | 'credits' | 'created';

export const MONEY_COLUMNS = { receivable: RECEIVABLE, payable: PAYABLE, credits: CREDITS } as const;
