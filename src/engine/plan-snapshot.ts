/**
 * A plan of a snapshot in the journal, as `sunset plan`, `sunset demo` and the service make it:
 * the snapshot's pages in, each exclusion written to the journal as the planner decides it, then
 * the plan saved. Neither the organization nor its exclusions are held in memory.
 */
import { buildPlan } from './plan.js';
import type { Policy } from './policy.js';
import type { Journal } from './storage/journal.js';
import type { InMemoryPlan, Plan, SnapshotInfo } from './types.js';

/** Contacts a page: small pages keep the planner's live objects (and so V8's heap) small. */
const PAGE_SIZE = 500;

export async function planSnapshot(journal: Journal, policy: Policy, policyText: string, snapshot: SnapshotInfo, createdAt: number): Promise<Plan> {
  const draft = journal.planDraft(createdAt);
  try {
    const plan = await buildPlan(policy, policyText, snapshot, journal.snapshotContacts(snapshot.snapshotId, PAGE_SIZE), draft);
    await draft.save(plan, createdAt);
    return plan;
  } catch (error) {
    await draft.discard();
    throw error;
  }
}

/** A saved plan with every exclusion read back from the journal: for the reports that list them (HTML, CSV, JSON). */
export async function withExclusions(journal: Journal, plan: Plan): Promise<InMemoryPlan> {
  const excluded = [];
  for await (const page of journal.planExclusions(plan.planId)) excluded.push(...page);
  return { ...plan, excluded };
}
