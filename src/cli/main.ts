#!/usr/bin/env node
/**
 * The `sunset` command line: `noun verb` commands, each loaded only when used (command-table.ts),
 * `help` and `completion`, options that may come before the command, and one top-level error
 * handler that turns every failure into a message on stderr, or with --json into one JSON object
 * on stdout, and an exit code from exit-codes.ts. Only this entry binds the process (argv, env,
 * streams, signals, exit); `main(argv, io)` runs as well on in-memory streams.
 */
import { COMMANDS, GLOBAL_OPTIONS } from './command-table.js';
import { runCompletion } from './completion.js';
import { errorCode, EXIT, ExitError } from './exit-codes.js';
import { groupCommands, groupHelp, topHelp } from './help.js';
import { createIO, type CliIO } from './io.js';
// The storage errors' module alone (no driver): `sunset --help` stays quick to start.
import { STORAGE_ADVICE, StorageError } from '../engine/storage/sql.js';

function findCommand(argv: string[]): { name: string; rest: string[] } | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  for (const length of [2, 1]) {
    const name = words.slice(0, length).join(' ');
    if (COMMANDS[name]) {
      const rest = [...argv];
      for (const word of name.split(' ')) rest.splice(rest.indexOf(word), 1);
      return { name, rest };
    }
  }
  return undefined;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** Commands that start with what was typed, or are within a few typos of it. */
function suggest(typed: string): string[] {
  const names = Object.keys(COMMANDS);
  const prefix = names.filter((name) => typed !== '' && name.startsWith(typed.split(' ')[0] ?? ''));
  if (prefix.length > 0) return prefix;
  return names.filter((name) => {
    const words = typed.split(' ').slice(0, name.split(' ').length).join(' ');
    return distance(words, name) <= Math.max(2, Math.floor(name.length / 4));
  });
}

const GLOBALS_LIST = Object.keys(GLOBAL_OPTIONS).map((name) => `--${name}`).join(', ');

/**
 * The options before the command (`sunset --db x.db runs`), taken off the front so the command is
 * found; they go back after it. Anything else before the command is refused, naming it.
 */
function leadingOptions(args: string[]): { options: string[]; rest: string[] } {
  const options: string[] = [];
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-') && !['--help', '-h', '--version', '-v'].includes(args[i]!)) {
    const arg = args[i]!;
    const name = arg.replace(/^--/, '').replace(/=.*$/s, '');
    const spec = arg.startsWith('--') ? GLOBAL_OPTIONS[name] : undefined;
    if (!spec) {
      throw new ExitError(`Unknown option "${arg}" before the command. Options go after the command (\`sunset COMMAND --help\` lists them); `
        + `only ${GLOBALS_LIST} may also come before it.`, EXIT.usage);
    }
    if (spec.type === 'string' && !arg.includes('=')) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('-')) throw new ExitError(`${arg} needs a value (sunset ${arg} VALUE COMMAND ...).`, EXIT.usage);
      options.push(arg, value);
      i += 2;
    } else {
      options.push(arg);
      i += 1;
    }
  }
  return { options, rest: args.slice(i) };
}

async function dispatch(argv: string[], io: CliIO): Promise<number> {
  const { options, rest: args } = leadingOptions(argv);
  // `sunset help scan` is `sunset scan --help`.
  if (args[0] === 'help' && args.length > 1) return dispatch([...args.slice(1), '--help'], io);
  if (args.length === 0 && options.length > 0) {
    throw new ExitError(`${options.join(' ')}: and the command? (sunset ${options.join(' ')} COMMAND; \`sunset --help\` lists the commands)`, EXIT.usage);
  }
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    io.stdout.write(topHelp());
    return EXIT.ok;
  }
  if (args[0] === '--version' || args[0] === '-v') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    io.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  // -h is --help for every command and subcommand, as the top-level help says (the commands' flag parsers know --help only).
  const withHelp = (list: string[]): string[] => list.map((a) => (a === '-h' ? '--help' : a));
  if (args[0] === 'completion') return runCompletion(withHelp([...options, ...args.slice(1)]), io);
  const found = findCommand(args);
  const words = args.filter((a) => !a.startsWith('-'));
  const group = !found && words.length === 1 ? groupCommands(words[0]!) : [];
  if (group.length > 0) {
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout.write(groupHelp(words[0]!, group));
      return EXIT.ok;
    }
    throw new ExitError(`\`sunset ${words[0]}\` needs a subcommand: ${group.map((name) => `sunset ${name}`).join(', ')}.\n\n${groupHelp(words[0]!, group)}`, EXIT.usage);
  }
  if (!found) {
    const near = suggest(words.slice(0, 2).join(' '));
    throw new ExitError(
      `Unknown command "${words.join(' ')}".` +
        (near.length > 0 ? ` Did you mean: ${near.map((n) => `sunset ${n}`).join(', ')}?` : '') +
        '\nRun `sunset --help` for the list of commands.',
      EXIT.usage,
    );
  }
  const entry = COMMANDS[found.name]!;
  const clash = options.filter((o) => o.startsWith('--')).map((o) => o.replace(/^--/, '').replace(/=.*$/s, '')).find((o) => entry.ownOptions?.includes(o));
  if (clash) {
    throw new ExitError(`--${clash} before the command is the engine commands' option; \`sunset ${found.name}\` has its own --${clash}: put it after the command (sunset ${found.name} --${clash} ...).`, EXIT.usage);
  }
  const command = await entry.load();
  return command.run(withHelp([...options, ...found.rest]), io);
}

/** A failure as the user sees it: its exit code, its --json code and message, and what else the command found. */
function describeFailure(error: unknown): { exitCode: number; code: string; message: string; details?: Record<string, unknown>; bug: boolean } {
  if (error instanceof ExitError) return { exitCode: error.exitCode, code: errorCode(error.exitCode), message: error.message, details: error.details, bug: false };
  if (error instanceof StorageError) {
    // The database is unreachable, full, read-only or damaged: not a bug, and nothing is lost.
    return {
      exitCode: EXIT.failure,
      code: `storage_${error.kind}`,
      message: `the journal could not be written or read: ${error.message}. ${STORAGE_ADVICE[error.kind]} `
        + 'No contact was changed in Zoho Books without a journal entry; `sunset apply --resume` finishes a run that was stopped.',
      bug: false,
    };
  }
  const sqlite = (error as { code?: unknown }).code;
  if (typeof sqlite === 'string' && /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB)/.test(sqlite)) {
    // The journal's disk is full, read-only, gone or locked: not a bug, and nothing is lost.
    // Steps are written before their call and settled by one read on resume.
    return {
      exitCode: EXIT.failure,
      code: errorCode(EXIT.failure),
      message: `the journal could not be written or read (${sqlite}: ${(error as Error).message}). `
        + 'No contact was changed in Zoho Books without a journal entry: once the journal\'s disk has space and the file is writable, '
        + '`sunset apply --resume` settles the steps that were in flight and finishes the run. `sunset runs check` checks the journal.',
      bug: false,
    };
  }
  return { exitCode: EXIT.failure, code: 'internal', message: `unexpected error: ${error instanceof Error ? error.message : String(error)}`, bug: true };
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const debug = argv.includes('--debug');
  // Decided before anything is parsed, so that a usage error is JSON too.
  const json = argv.includes('--json');
  try {
    return await dispatch(argv.filter((a) => a !== '--debug'), io);
  } catch (error) {
    const failure = describeFailure(error);
    const stack = debug && failure.bug && error instanceof Error ? error.stack : undefined;
    if (json) {
      // One JSON object on stdout and nothing else, whatever failed: scripts parse it.
      const message = failure.bug && !stack ? `${failure.message} (a bug in sunset: run again with --debug for the stack trace, and report it)` : failure.message;
      io.stdout.write(`${JSON.stringify({ ...failure.details, error: { code: failure.code, message } })}\n`);
      if (stack) io.stderr.write(`${stack}\n`);
      return failure.exitCode;
    }
    io.stderr.write(`sunset: ${failure.message}\n`);
    if (stack) io.stderr.write(`${stack}\n`);
    else if (failure.bug) io.stderr.write('This is a bug in sunset. Run again with --debug for the stack trace, and report it.\n');
    return failure.exitCode;
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (isEntry) {
  // A closed pipe (`sunset demo | head`) ends the output quietly instead of with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  const stopListeners: Array<() => void> = [];
  let stopping = false;
  const stop = (): void => {
    if (stopping || stopListeners.length === 0) process.exit(EXIT.interrupted);
    stopping = true;
    for (const listener of stopListeners) listener();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await main(process.argv.slice(2), createIO({
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onStop: (listener) => stopListeners.push(listener),
  }));
  process.exitCode = code;
}
