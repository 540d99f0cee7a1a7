/** `sunset plan`: policy + snapshot → a plan with evidence, and its reports. */
import { parseArgs } from 'node:util';
import { planSnapshot, PlanInputError, databaseLabel } from '../../engine/index.js';
import { planCsvChunks, planHtmlChunks, planJsonChunks, renderPlanText } from '../../engine/report/index.js';
import { actorName } from '../actor.js';
import { intFlag, parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import { preferSmallHeap } from '../heap.js';
import type { CliIO } from '../io.js';
import { writeOutputChunks, writeStreamChunks } from '../output-file.js';
import { policyFor } from '../policy.js';
import { COMMON_FLAGS, COMMON_HELP, openJournal, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset plan [--policy FILE] [options]

Applies the policy to the organization's latest snapshot (or --snapshot ID) and saves the plan:
one step per contact to deactivate (or activate) with its reason and evidence, and every dormant
contact that was excluded and why. The same policy and snapshot always give the same plan. Nothing
is changed in Zoho; \`sunset apply\` does that after you have reviewed it.

Each contact's evidence shows its real last activity (date, type, document number) or says it
never traded, when the snapshot read the whole history (every \`sunset scan\` does).

Options:
  --policy FILE         The policy (YAML or JSON); it becomes the organization's policy in the
                        journal. Without it, the stored policy of --org (or of the only
                        organization with one) is used.
  --actor NAME          Who saved the policy, in the journal (default user@host)
  --snapshot ID         Use this snapshot instead of the latest for the policy's organization
  --csv FILE            Also write the plan as CSV (one row per step and per exclusion)
  --html FILE           Also write a self-contained HTML report with charts
  --limit N             Steps to list in the terminal summary (default 10)
${COMMON_HELP}
`;

export const OPTIONS = {
  ...COMMON_FLAGS, policy: { type: 'string' }, actor: { type: 'string' }, snapshot: { type: 'string' }, csv: { type: 'string' }, html: { type: 'string' }, limit: { type: 'string' },
} as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given } = parseFlags(() => parseArgs({ args: argv, strict: true, options: OPTIONS }), 'plan');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  // A smaller V8 heap, collected sooner: this process reads whole organizations (src/cli/heap.ts).
  preferSmallHeap(io.env);
  const values = withEnvTwins(given, io.env, OPTIONS);
  const limit = intFlag(values.limit, 'limit', 0, 1_000_000) ?? 10;
  const journal = await openJournal(values.db ?? 'sunset.db', { create: false });
  try {
    const { policy, text } = await policyFor(journal, values, actorName(io.env, values.actor));
    const snapshot = values.snapshot ? await journal.getSnapshot(values.snapshot) : await journal.latestSnapshot(policy.organizationId);
    if (!snapshot) {
      throw new ExitError(values.snapshot
        ? `There is no complete snapshot ${values.snapshot} in ${databaseLabel(values.db ?? 'sunset.db')}.`
        : `No snapshot of organization ${policy.organizationId} yet: run \`sunset scan --org ${policy.organizationId}\` first.`, EXIT.notFound);
    }
    let plan;
    try {
      // Page by page from the journal, each exclusion written back as it is decided: neither the
      // organization nor its exclusions are held in memory whole.
      plan = await planSnapshot(journal, policy, text, snapshot, Date.now());
    } catch (error) {
      if (error instanceof PlanInputError) throw new ExitError(error.message);
      throw error;
    }
    // Each report is written page by page from the journal: none holds every exclusion.
    if (values.csv) await writeOutputChunks(values.csv, planCsvChunks(plan, journal.planExclusions(plan.planId)));
    if (values.html) await writeOutputChunks(values.html, planHtmlChunks(plan, journal.planExclusions(plan.planId), { generatedAt: Date.now(), organizationName: snapshot.organizationName, currencyCode: snapshot.currencyCode }));
    if (values.json) {
      await writeStreamChunks(io.stdout, planJsonChunks(plan, journal.planExclusions(plan.planId)));
      io.stdout.write('\n');
    } else {
      io.stdout.write(renderPlanText(plan, { color: io.color, limit }));
      if (values.csv) io.stdout.write(`CSV written to ${values.csv}\n`);
      if (values.html) io.stdout.write(`HTML report written to ${values.html}\n`);
      if (plan.steps.length > 0) io.stdout.write(`Next: sunset apply ${plan.planId}${values.db ? ` --database ${databaseLabel(values.db)}` : ''}\n`);
    }
    return 0;
  } finally {
    await journal.close();
  }
}
