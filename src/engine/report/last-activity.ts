/**
 * A contact's last activity in words, the same in every report and in the service's review page:
 * "invoice INV-000123 on 2024-04-02"; "never traded" when the whole history was read and held
 * nothing; "none since 2024-11-21 (earlier history not read)" for plans made from a snapshot that
 * read only the window (before Sunset read whole histories).
 */
import { TRANSACTION_TYPES } from '../../zoho/index.js';
import type { Evidence } from '../types.js';

export function describeLastActivity(e: Pick<Evidence, 'lastActivityDate' | 'lastActivityType' | 'lastActivityNumber' | 'wholeHistory' | 'activitySince'>): string {
  if (e.lastActivityDate) {
    const label = e.lastActivityType ? TRANSACTION_TYPES[e.lastActivityType].label : 'activity';
    return `${label}${e.lastActivityNumber ? ` ${e.lastActivityNumber}` : ''} on ${e.lastActivityDate}`;
  }
  return e.wholeHistory ? 'never traded' : `none since ${e.activitySince} (earlier history not read)`;
}
