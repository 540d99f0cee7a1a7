/** `sunset undo RUN`: reverse the changes a run made that are still as it left them, as a new run. */
import { parseArgs } from 'node:util';
import { createUndoRun, previewUndo, RunExistsError, RunInputError, databaseLabel } from '../../engine/index.js';
import { actorName } from '../actor.js';
import { intFlag, parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { resolveOrganization } from '../organization.js';
import { executeRun, verificationCost } from '../run-execution.js';
import { confirm } from '../terminal.js';
import { COMMON_FLAGS, COMMON_HELP, openWorkspace, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset undo RUN_ID [options]

Reverses exactly the changes run RUN_ID made that are still as it left them: a contact changed again
since (by a later run, or by someone in Zoho, found with incremental reads) is left alone and
reported. The undo is a new run in the journal: it resumes, and can itself be undone. It runs where
the run was made (its Zoho, or emulator); a run is undone once (resume that undo to finish it).

Options:
  --yes                 Do not ask for confirmation (required when not on a terminal)
  --wait                If another process is applying the undo, wait for it to let go
  --concurrency N       Steps in flight at once (default 5)
  --actor NAME          Who the audit trail names
${COMMON_HELP}
`;

export const OPTIONS = { ...COMMON_FLAGS, yes: { type: 'boolean' }, wait: { type: 'boolean' }, concurrency: { type: 'string' }, actor: { type: 'string' } } as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'undo');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  if (positionals.length !== 1) throw new ExitError('Name the run to undo: sunset undo RUN_ID (`sunset runs` lists them).', EXIT.usage);
  const concurrency = intFlag(values.concurrency, 'concurrency', 1, 50);
  const runId = positionals[0]!;
  let preview: Awaited<ReturnType<typeof previewUndo>> | undefined;
  const workspace = await openWorkspace(io, values, {
    bind: async (journal) => {
      if (!(await journal.getRun(runId))) throw new ExitError(`There is no run ${runId} in ${databaseLabel(values.db ?? 'sunset.db')}. \`sunset runs\` lists them.`, EXIT.notFound);
      try {
        preview = await previewUndo(journal, runId);
      } catch (error) {
        if (error instanceof RunInputError || error instanceof RunExistsError) throw new ExitError(error.message);
        throw error;
      }
      return { what: `Run ${runId}`, target: preview.run.target };
    },
  });
  try {
    if (!preview) throw new ExitError(`There is no run ${runId}.`, EXIT.notFound);
    await resolveOrganization(workspace.connection, preview.run.organizationId);
    for (const s of preview.preview.skipped) io.stderr.write(`Left alone: ${s.contactName || s.contactId} (${s.contactId}): ${s.reason}\n`);
    const n = preview.preview.steps.length;
    if (n === 0) throw new ExitError(`Every change of run ${runId} has been changed again since; nothing to undo.`);
    if (!(await confirm(io, `Undo run ${runId} in organization ${preview.run.organizationId}: reverse ${n} change${n === 1 ? '' : 's'}?`, values.yes === true))) {
      throw new ExitError('Nothing was changed.');
    }
    let undoRun;
    try {
      undoRun = (await createUndoRun(workspace.journal, runId, actorName(io.env, values.actor), Date.now())).run;
    } catch (error) {
      if (error instanceof RunExistsError || error instanceof RunInputError) throw new ExitError(`${error.message} Nothing was changed.`);
      throw error;
    }
    if (!values.json && !values.quiet) {
      io.stderr.write(`Run ${undoRun.runId} (undo of ${runId}) started.\n`);
      const before = await workspace.journal.fingerprintSet(undoRun.runId, 'before');
      io.stderr.write(`${await verificationCost(workspace.journal, workspace.connection.port(undoRun.organizationId), {
        contacts: new Map(preview.preview.steps.map((s) => [s.contactId, s.contactType])), before, runId: undoRun.runId,
      })}\n`);
    }
    return await executeRun(io, workspace, undoRun, {
      yes: true, question: '', concurrency, fingerprint: true, quiet: values.quiet === true, json: values.json === true, failpoint: io.env.SUNSET_FAILPOINT,
      wait: values.wait === true,
    });
  } finally {
    await workspace.close();
  }
}
