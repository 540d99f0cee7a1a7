/** `sunset scan`: read an organization into a snapshot with as few API calls as possible. */
import { parseArgs } from 'node:util';
import { scan, databaseLabel } from '../../engine/index.js';
import { actorName } from '../actor.js';
import { parseFlags } from '../args.js';
import { explain } from '../connection.js';
import { EXIT, ExitError } from '../exit-codes.js';
import { preferSmallHeap } from '../heap.js';
import type { CliIO } from '../io.js';
import { resolveOrganization } from '../organization.js';
import { policyFor } from '../policy.js';
import { createProgress } from '../terminal.js';
import { COMMON_FLAGS, COMMON_HELP, openWorkspace, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset scan [--policy FILE] [options]

Reads the organization named by the policy: every transaction of the types that matter, whatever
its date (200 a page), then its active contacts (200 a page) — never one call per contact. The
whole history gives each dormant contact's real last activity ("invoice INV-000123 on 2024-04-02",
or "never traded"), and each contact's count and total of transactions per type: the "before"
side of \`sunset verify\`, so \`sunset apply\` starts changing contacts at once. Stores a snapshot
in the journal and says how many API calls it used. \`sunset plan\` turns it into a plan.

Options:
  --policy FILE         The policy (YAML or JSON); \`sunset policy init\` writes one. It becomes the
                        organization's policy in the journal (what \`sunset serve\` shows); without
                        --policy, the organization's stored policy is used.
  --actor NAME          Who saved the policy, in the journal (default user@host)
${COMMON_HELP}
`;

export const OPTIONS = { ...COMMON_FLAGS, policy: { type: 'string' }, actor: { type: 'string' } } as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given } = parseFlags(() => parseArgs({ args: argv, strict: true, options: OPTIONS }), 'scan');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  // A smaller V8 heap, collected sooner: this process reads whole organizations (src/cli/heap.ts).
  preferSmallHeap(io.env);
  const values = withEnvTwins(given, io.env, OPTIONS);
  const workspace = await openWorkspace(io, values);
  try {
    const { policy } = await policyFor(workspace.journal, values, actorName(io.env, values.actor));
    const organizationId = await resolveOrganization(workspace.connection, values.org, policy.organizationId);
    if (organizationId !== policy.organizationId) {
      throw new ExitError(`--org ${organizationId} differs from the policy's organization ${policy.organizationId}; a policy is for one organization. Nothing was read.`, EXIT.usage);
    }
    const progress = createProgress(io, values.quiet === true || values.json === true);
    const started = Date.now();
    let snapshot;
    try {
      snapshot = await scan({
        port: workspace.connection.port(organizationId),
        journal: workspace.journal,
        policy,
        now: Date.now(),
        onProgress: (p) => progress.update(
          p.phase === 'transactions'
            ? `Reading the history, ${p.transactionType} (type ${p.typeIndex} of ${p.typeCount}): ${p.transactions} transactions, ${p.apiCalls} API calls`
            : `Reading contacts: ${p.contacts}, ${p.apiCalls} API calls`,
        ),
      });
    } catch (error) {
      progress.done();
      throw explain(error, `scanning organization ${organizationId}`);
    }
    progress.done();
    if (values.json) io.stdout.write(`${JSON.stringify(snapshot)}\n`);
    else {
      io.stdout.write(
        `Snapshot ${snapshot.snapshotId} of organization ${organizationId} (${workspace.connection.description})\n` +
          `  contacts read       ${snapshot.contactCount} (${snapshot.statuses === 'all' ? 'all' : 'active only'})\n` +
          `  history read        ${snapshot.transactionCount} transactions of ${snapshot.historyTypes.length} types, all dates (${snapshot.historyCalls} calls)\n` +
          `  activity counted    since ${snapshot.cutoffDate}\n` +
          `  API calls           ${snapshot.apiCalls}\n` +
          `  time                ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
          `Next: sunset plan --org ${organizationId}${values.db ? ` --database ${databaseLabel(values.db)}` : ''}\n`,
      );
    }
    return 0;
  } finally {
    await workspace.close();
  }
}
