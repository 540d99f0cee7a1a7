/**
 * What a command reads and writes: the streams, the environment and the stop request, and what the
 * output may contain (colour, escape sequences), decided once here. The entry (main.ts) binds them
 * to the process; tests give in-memory ones. Nothing under src/cli reads process.stdin, stdout,
 * stderr or env directly.
 */
export interface CliStreams {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Resolves when the user asks to stop (Ctrl-C / SIGTERM). */
  onStop(listener: () => void): void;
}

export interface CliIO extends CliStreams {
  /** Colours and bold in what goes to stdout (the plan and run summaries). */
  readonly color: boolean;
  /**
   * Escape sequences on stderr: the progress line rewritten in place, a prompt's line editing.
   * Without them progress prints a line every few seconds and prompts are plain lines.
   */
  readonly escapes: boolean;
}

export interface OutputStyle {
  color: boolean;
  escapes: boolean;
}

/**
 * The conventions people set in their environment: NO_COLOR (any value but empty) means no escape
 * sequence at all, even on a terminal, and wins over FORCE_COLOR; FORCE_COLOR (any value but 0 or
 * false) colours stdout even off a terminal; TERM=dumb means a terminal that takes no escape
 * sequences. Otherwise colour where stdout is a terminal, and escapes where stderr is one.
 */
export function outputStyle(env: NodeJS.ProcessEnv, tty: { stdout: boolean; stderr: boolean }): OutputStyle {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const dumb = env.TERM === 'dumb';
  const force = env.FORCE_COLOR;
  let color: boolean;
  if (noColor) color = false;
  else if (force !== undefined) color = !['0', 'false'].includes(force.trim().toLowerCase());
  else color = tty.stdout && !dumb;
  return { color, escapes: tty.stderr && !noColor && !dumb };
}

export function createIO(streams: CliStreams): CliIO {
  return { ...streams, ...outputStyle(streams.env, { stdout: streams.stdout.isTTY === true, stderr: streams.stderr.isTTY === true }) };
}
