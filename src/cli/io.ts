/**
 * What a command reads and writes: the streams, the environment and the stop request. The entry
 * (main.ts) binds them to the process; tests give in-memory ones. Nothing under src/cli reads
 * process.stdin/stdout/stderr or process.env directly.
 */
export interface CliIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Resolves when the user asks to stop (Ctrl-C / SIGTERM). */
  onStop(listener: () => void): void;
}
