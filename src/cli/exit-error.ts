/**
 * An error the CLI has already explained: its message is printed as is (no stack) and the process
 * exits with `exitCode`. Anything else reaching the top-level handler is a bug.
 */
export class ExitError extends Error {
  override name = 'ExitError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Exit codes: 1 failure, 2 usage (bad flags or input). */
export const EXIT_USAGE = 2;
