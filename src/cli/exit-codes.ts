/**
 * How `sunset` ends: one table of exit codes, used by every command, printed by `sunset --help` and
 * described in docs/cli.md. Scripts tell outcomes apart by the code; with --json a failure's
 * document names the same outcome: {"error": {"code": "not_found", "message": "..."}}.
 */
export const EXIT = {
  ok: 0,
  /** Failed or refused: Zoho or the network failed, the record is bound elsewhere or already done, not confirmed, a bug. */
  failure: 1,
  /** Bad flags, arguments or input files; a question that needs a terminal or --yes. */
  usage: 2,
  /** What the command names does not exist: a run, plan, snapshot, journal, organization, contact or user. */
  notFound: 3,
  /** A check found differences: `verify` (history changed), `runs check` (journal problems). */
  differences: 4,
  /** A run finished with failed steps. */
  failedSteps: 5,
  /** Stopped by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The `code` a --json failure document carries, and what each exit code means, for the help and the docs. */
export const EXIT_CODES: ReadonlyArray<{ exit: ExitCode; code: string; meaning: string }> = [
  { exit: EXIT.ok, code: 'ok', meaning: 'done' },
  { exit: EXIT.failure, code: 'failure', meaning: 'failed or refused (Zoho or the network, a run applied elsewhere or already, not confirmed)' },
  { exit: EXIT.usage, code: 'usage', meaning: 'bad flags, arguments or input (policy, CSV); --yes needed off a terminal' },
  { exit: EXIT.notFound, code: 'not_found', meaning: 'no such run, plan, snapshot, journal, organization, contact or user' },
  { exit: EXIT.differences, code: 'differences', meaning: 'verify found unexplained differences; runs check found problems' },
  { exit: EXIT.failedSteps, code: 'failed_steps', meaning: 'a run (apply, undo, contacts) finished with failed steps' },
  { exit: EXIT.interrupted, code: 'interrupted', meaning: 'stopped by Ctrl-C or SIGTERM (resume a run with apply --resume)' },
];

/** The --json `code` of an exit code. */
export function errorCode(exit: number): string {
  return EXIT_CODES.find((e) => e.exit === exit)?.code ?? 'failure';
}

/**
 * An error the CLI has already explained: its message is printed as is (no stack) and the process
 * exits with `exitCode`. `details` are more fields of the --json failure document (what a command
 * found before it failed). Anything else reaching the top-level handler is a bug.
 */
export class ExitError extends Error {
  override name = 'ExitError';
  constructor(message: string, readonly exitCode: ExitCode = EXIT.failure, readonly details?: Record<string, unknown>) {
    super(message);
  }
}
