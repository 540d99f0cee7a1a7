/**
 * The exclusion reasons and their words, for every report (text, JSON, HTML) and the service's
 * review page. Pure: no node imports (the web UI's bundle includes it).
 */
import type { ExclusionReason } from '../types.js';

/** Every exclusion reason, in the order reports list them. */
export const EXCLUSION_REASONS: readonly ExclusionReason[] = [
  'open_balance', 'unused_credits', 'grace_period', 'cap', 'not_allowed', 'denied', 'contact_type', 'crm', 'name', 'tags', 'custom_field',
];

/** Plain-language names of the exclusion reasons. */
export const EXCLUSION_REASON_LABELS: Readonly<Record<ExclusionReason, string>> = {
  open_balance: 'open balance',
  unused_credits: 'unused credits',
  grace_period: 'grace period (new contact)',
  cap: 'over the change cap',
  not_allowed: 'not on the allow list',
  denied: 'on the deny list',
  contact_type: 'contact type not covered',
  crm: 'CRM link filter',
  name: 'name filter',
  tags: 'tag filter',
  custom_field: 'custom field filter',
};

export function isExclusionReason(code: string): code is ExclusionReason {
  return Object.prototype.hasOwnProperty.call(EXCLUSION_REASON_LABELS, code);
}

/** A reason's words; a code this version does not know is shown as it is. */
export function exclusionReasonLabel(code: string): string {
  return isExclusionReason(code) ? EXCLUSION_REASON_LABELS[code] : code;
}
