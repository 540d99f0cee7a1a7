/** `sunset verify RUN`: prove no history was lost by a run. */
import { parseArgs } from 'node:util';
import { describeTarget, verifyRun, databaseLabel } from '../../engine/index.js';
import { parseFlags } from '../args.js';
import { explain } from '../connection.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { resolveOrganization } from '../organization.js';
import { readCost } from '../run-execution.js';
import { createProgress, formatInstant } from '../terminal.js';
import { COMMON_FLAGS, COMMON_HELP, openWorkspace, withEnvTwins } from '../workspace.js';
import type { RunRecord } from '../../engine/index.js';

const HELP = `Usage: sunset verify RUN_ID [options]

Compares, for every contact of the run, the number and total of its transactions of each type
before the run with what Zoho holds now. "Before" comes from the scan the run's plan was made from
(or was read when the run started). Now is read with whichever costs fewer calls: whole
transaction lists (200 a page) or one list per contact and type for a small run. A difference
where the contact traded since "before" (a transaction created or edited after it) is explained
and listed; any other difference is a loss, and the exit code is 4. It reads where the run was made
(its Zoho, or emulator) and refuses any other.

${COMMON_HELP}
`;

export const OPTIONS = COMMON_FLAGS;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'verify');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  if (positionals.length !== 1) throw new ExitError('Name the run: sunset verify RUN_ID', EXIT.usage);
  const runId = positionals[0]!;
  let runRecord: RunRecord | undefined;
  const workspace = await openWorkspace(io, values, {
    bind: async (journal) => {
      runRecord = await journal.getRun(runId);
      if (!runRecord) throw new ExitError(`There is no run ${runId} in ${databaseLabel(values.db ?? 'sunset.db')}. \`sunset runs\` lists them.`, EXIT.notFound);
      return { what: `Run ${runId}`, target: runRecord.target };
    },
  });
  try {
    const record = runRecord!;
    const before = await workspace.journal.fingerprintSet(runId, 'before');
    if (!before) {
      throw new ExitError(`Run ${runId} has no record of its contacts' transactions from before it ran (it was applied with --no-fingerprint, or is a contacts or CRM run); there is nothing to compare with.`);
    }
    await resolveOrganization(workspace.connection, record.organizationId);
    const port = workspace.connection.port(record.organizationId);
    const quiet = values.quiet === true || values.json === true;
    if (!quiet) {
      const steps = await workspace.journal.steps(runId);
      const { how, cost } = await readCost(workspace.journal, port, new Map(steps.map((s) => [s.contactId, s.contactType])));
      io.stderr.write(`Reading ${how} (${cost}), to compare with the counts of ${formatInstant(before.takenAt)}${before.source === 'snapshot' ? ', from the scan' : ''}.\n`);
    }
    const progress = createProgress(io, quiet);
    let result;
    try {
      result = await verifyRun(workspace.journal, port, runId, {
        now: Date.now(),
        onProgress: (p) => progress.update(p.phase === 'explain'
          ? `Looking for what traded since then: ${p.done} pages...`
          : `Reading the run's contacts' transactions: ${p.done}${p.expected ? ` of about ${p.expected}` : ''} ${p.method === 'pages' ? 'pages' : 'lists'}...`),
      });
    } catch (error) {
      progress.done();
      throw explain(error, `verifying run ${runId}`);
    }
    progress.done();
    const money = (cents: number): string => (cents / 100).toFixed(2);
    const explained = result.differences.filter((d) => d.explained !== null);
    const lost = result.differences.filter((d) => d.explained === null);
    if (values.json) io.stdout.write(`${JSON.stringify({ ...result, target: record.target })}\n`);
    else {
      const where = describeTarget(record.target || workspace.connection.target);
      if (result.ok) {
        io.stdout.write(`Verified run ${runId} on ${where}: ${result.transactions} transactions totalling ${money(result.totalCents)} across ${result.contacts} contacts are as before the run${explained.length > 0 ? `, but for ${explained.length} change${explained.length === 1 ? '' : 's'} made by trading since` : ''}. No history was lost. (${result.apiCalls} API calls)\n`);
      } else {
        io.stdout.write(`Run ${runId} on ${where}: ${lost.length} unexplained difference${lost.length === 1 ? '' : 's'} from before the run:\n`);
        for (const d of lost.slice(0, 20)) {
          io.stdout.write(`  ${d.contactId} ${d.transactionType}: ${d.before.count} (${money(d.before.totalCents)}) before, ${d.after.count} (${money(d.after.totalCents)}) now\n`);
        }
        if (lost.length > 20) io.stdout.write(`  … and ${lost.length - 20} more (--json lists every one)\n`);
      }
      for (const d of explained.slice(0, 10)) {
        io.stdout.write(`  traded: ${d.contactId} ${d.transactionType}: ${d.before.count} (${money(d.before.totalCents)}) before, ${d.after.count} (${money(d.after.totalCents)}) now; ${d.explained}\n`);
      }
      if (explained.length > 10) io.stdout.write(`  … and ${explained.length - 10} more changes made by trading (--json lists every one)\n`);
    }
    return result.ok ? EXIT.ok : EXIT.differences;
  } finally {
    await workspace.close();
  }
}
