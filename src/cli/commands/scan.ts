/** `sunset scan`: read an organization into a snapshot with as few API calls as possible. */
import { parseArgs } from 'node:util';
import { scan } from '../../engine/index.js';
import { parseFlags } from '../args.js';
import { COMMON_FLAGS, COMMON_HELP, explain, loadPolicy, openSession, resolveOrganization } from '../common.js';
import { createProgress } from '../context.js';
import { ExitError, EXIT_USAGE } from '../exit-error.js';
import type { CliIO } from '../main.js';

const HELP = `Usage: sunset scan --policy FILE [options]

Reads the organization named by the policy: its active contacts (200 a page) and, for each kind of
activity the policy counts, the transactions dated since the inactivity cutoff (200 a page) —
never one call per contact. Stores a snapshot in the journal and says how many API calls it used.
\`sunset plan\` turns the snapshot into a plan.

Options:
  --policy FILE         The policy (YAML or JSON); \`sunset policy init\` writes one
${COMMON_HELP}
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(() => parseArgs({ args: argv, strict: true, options: { ...COMMON_FLAGS, policy: { type: 'string' } } }), 'scan');
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const { policy } = loadPolicy(values.policy);
  const session = await openSession(io, values);
  try {
    const organizationId = await resolveOrganization(session.connection, values.org, policy.organizationId);
    if (organizationId !== policy.organizationId) {
      throw new ExitError(`--org ${organizationId} differs from the policy's organization ${policy.organizationId}; a policy is for one organization. Nothing was read.`, EXIT_USAGE);
    }
    const progress = createProgress(io, values.quiet === true || values.json === true);
    const started = Date.now();
    let snapshot;
    try {
      snapshot = await scan({
        port: session.connection.port(organizationId),
        journal: session.journal,
        policy,
        now: Date.now(),
        onProgress: (p) => progress.update(
          p.phase === 'transactions'
            ? `Reading ${p.transactionType} since the cutoff: ${p.transactions} transactions, ${p.apiCalls} API calls`
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
        `Snapshot ${snapshot.snapshotId} of organization ${organizationId} (${session.connection.description})\n` +
          `  contacts read       ${snapshot.contactCount} (${snapshot.statuses === 'all' ? 'all' : 'active only'})\n` +
          `  activity since      ${snapshot.cutoffDate}: ${snapshot.transactionCount} transactions of ${snapshot.activityTypes.length} types\n` +
          `  API calls           ${snapshot.apiCalls}\n` +
          `  time                ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
          `Next: sunset plan --policy ${values.policy}${values.db ? ` --db ${values.db}` : ''}\n`,
      );
    }
    return 0;
  } finally {
    await session.close();
  }
}
