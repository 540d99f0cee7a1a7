/** `sunset verify RUN`: prove no history was lost by a run. */
import { parseArgs } from 'node:util';
import { verifyRun } from '../../engine/index.js';
import { parseFlags } from '../args.js';
import { COMMON_FLAGS, COMMON_HELP, explain, openSession, resolveOrganization } from '../common.js';
import { createProgress } from '../context.js';
import { ExitError, EXIT_USAGE } from '../exit-error.js';
import type { CliIO } from '../main.js';

const HELP = `Usage: sunset verify RUN_ID [options]

Compares, for every contact of the run, the number and total of its transactions of each type
before the run (recorded by \`sunset apply\`) with what Zoho holds now. Identical means no history
was lost. Reads whole transaction lists (200 a page), not one call per contact.

${COMMON_HELP}
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: { ...COMMON_FLAGS } }), 'verify');
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new ExitError('Name the run: sunset verify RUN_ID', EXIT_USAGE);
  const runId = positionals[0]!;
  const session = await openSession(io, values);
  try {
    const runRecord = await session.journal.getRun(runId);
    if (!runRecord) throw new ExitError(`There is no run ${runId} in ${session.dbPath}.`);
    if (!(await session.journal.hasFingerprint(runId, 'before'))) {
      throw new ExitError(`Run ${runId} has no record of its contacts' transactions from before it ran (it was applied with --no-fingerprint, or is a contacts run); there is nothing to compare with.`);
    }
    await resolveOrganization(session.connection, runRecord.organizationId);
    const progress = createProgress(io, values.quiet === true || values.json === true);
    progress.update('Reading the transactions of the run\'s contacts...');
    let result;
    try {
      result = await verifyRun(session.journal, session.connection.port(runRecord.organizationId), runId);
    } catch (error) {
      progress.done();
      throw explain(error, `verifying run ${runId}`);
    }
    progress.done();
    if (values.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.ok) {
      io.stdout.write(`Verified run ${runId}: ${result.transactions} transactions totalling ${(result.totalCents / 100).toFixed(2)} across ${result.contacts} contacts are exactly as before the run. No history was lost.\n`);
    } else {
      io.stdout.write(`Run ${runId}: ${result.differences.length} difference${result.differences.length === 1 ? '' : 's'} from before the run:\n`);
      for (const d of result.differences.slice(0, 20)) {
        io.stdout.write(`  ${d.contactId} ${d.transactionType}: ${d.before.count} (${(d.before.totalCents / 100).toFixed(2)}) before, ${d.after.count} (${(d.after.totalCents / 100).toFixed(2)}) now\n`);
      }
    }
    return result.ok ? 0 : 1;
  } finally {
    await session.close();
  }
}
