/**
 * The safety exclusions of a policy (open balance, unused credits, the grace period for contacts
 * created recently) applied to contacts named by hand (`sunset contacts deactivate`, a CSV): the
 * same rules and the same wording as a plan's exclusions (see plan.ts), on contacts as they are now.
 */
import { formatZohoDate } from '../zoho/index.js';
import { subtractDuration, type Policy } from './policy.js';
import type { PortContact } from './port.js';
import type { ExclusionReason } from './types.js';

export type SafetyReason = Extract<ExclusionReason, 'open_balance' | 'unused_credits' | 'grace_period'>;

export interface SafetyExclusion {
  contactId: string;
  contactName: string;
  contactType: PortContact['contactType'];
  reasons: SafetyReason[];
  /** Why, in words: `owes 0.00 / is owed 828.79; created 2026-05-01, within 90 days`. */
  detail: string;
}

/**
 * What keeps a contact from being deactivated, or undefined when nothing does. Only an active
 * contact can be excluded: an inactive one is not changed by a deactivation anyway. `now` is the
 * time the grace period counts back from.
 */
export function safetyExclusion(c: PortContact, safety: Policy['safety'], now: number): SafetyExclusion | undefined {
  if (c.status !== 'active') return undefined;
  const reasons: SafetyReason[] = [];
  const details: string[] = [];
  if (safety.openBalance && (c.receivableCents > 0 || c.payableCents > 0)) {
    reasons.push('open_balance');
    details.push(`owes ${(c.receivableCents / 100).toFixed(2)} / is owed ${(c.payableCents / 100).toFixed(2)}`);
  }
  if (safety.unusedCredits && (c.creditsReceivableCents > 0 || c.creditsPayableCents > 0)) {
    reasons.push('unused_credits');
    details.push(`unused credits ${((c.creditsReceivableCents + c.creditsPayableCents) / 100).toFixed(2)}`);
  }
  // No grace period: nothing is recent enough to be protected.
  const graceStart = safety.gracePeriod.amount === 0 ? Infinity : subtractDuration(now, safety.gracePeriod);
  if (c.createdAt > graceStart) {
    reasons.push('grace_period');
    details.push(`created ${formatZohoDate(c.createdAt, 0)}, within ${safety.gracePeriod.text}`);
  }
  if (reasons.length === 0) return undefined;
  return { contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, reasons, detail: details.join('; ') };
}
