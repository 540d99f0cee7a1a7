#!/usr/bin/env node
/**
 * The `sunset` command line: `noun verb` commands, each loaded only when used, and one top-level
 * error handler. Only the CLI reads process.argv / process.env and calls process.exit.
 */
import { COMMANDS } from './command-table.js';
import { ExitError, EXIT_USAGE } from './exit-error.js';
import type { CliIO } from './io.js';

const HELP = `sunset — keep Zoho Books contact lists clean without losing a cent of history

Usage: sunset <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(16)} ${c.summary}`).join('\n')}

Global options:
  --help, -h       Show help for a command (e.g. sunset emulator start --help, or sunset help scan)
  --debug          Print stack traces for unexpected errors
  --version, -v    Print the version

Start here: \`sunset demo\`, or \`sunset emulator start\` and point your own Zoho Books code at it.
`;

/** First words that are a command only with a second word (`emulator`, `policy`): their subcommands. */
function groupCommands(word: string): string[] {
  if (COMMANDS[word]) return [];
  return Object.keys(COMMANDS).filter((name) => name.startsWith(`${word} `));
}

function groupHelp(word: string, names: string[]): string {
  return `Usage: sunset ${word} <subcommand> [options]

Subcommands:
${names.map((name) => `  ${name.padEnd(16)} ${COMMANDS[name]!.summary}`).join('\n')}

Run \`sunset ${word} <subcommand> --help\` (or \`sunset help ${names[0]}\`) for a subcommand's options.
`;
}

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

export async function main(argv: string[], io: CliIO): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  try {
    // `sunset help scan` is `sunset scan --help`.
    if (args[0] === 'help' && args.length > 1) return await main([...args.slice(1), '--help', ...(debug ? ['--debug'] : [])], io);
    if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
      io.stdout.write(HELP);
      return 0;
    }
    if (args[0] === '--version' || args[0] === '-v') {
      const { createRequire } = await import('node:module');
      const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
      io.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    const found = findCommand(args);
    const words = args.filter((a) => !a.startsWith('-'));
    const group = !found && words.length === 1 ? groupCommands(words[0]!) : [];
    if (group.length > 0) {
      if (args.includes('--help') || args.includes('-h')) {
        io.stdout.write(groupHelp(words[0]!, group));
        return 0;
      }
      throw new ExitError(`\`sunset ${words[0]}\` needs a subcommand: ${group.map((name) => `sunset ${name}`).join(', ')}.\n\n${groupHelp(words[0]!, group)}`, EXIT_USAGE);
    }
    if (!found) {
      const near = suggest(args.filter((a) => !a.startsWith('-')).slice(0, 2).join(' '));
      throw new ExitError(
        `Unknown command "${args.filter((a) => !a.startsWith('-')).join(' ')}".` +
          (near.length > 0 ? ` Did you mean: ${near.map((n) => `sunset ${n}`).join(', ')}?` : '') +
          '\nRun `sunset --help` for the list of commands.',
        EXIT_USAGE,
      );
    }
    const command = await COMMANDS[found.name]!.load();
    // -h is --help for every command, as the top-level help says (the commands' flag parsers know --help only).
    return await command.run(found.rest.map((a) => (a === '-h' ? '--help' : a)), io);
  } catch (error) {
    if (error instanceof ExitError) {
      io.stderr.write(`sunset: ${error.message}\n`);
      return error.exitCode;
    }
    const sqlite = (error as { code?: unknown }).code;
    if (typeof sqlite === 'string' && /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB)/.test(sqlite)) {
      // The journal's disk is full, read-only, gone or locked: not a bug, and nothing is lost.
      // Steps are written before their call and settled by one read on resume.
      io.stderr.write(`sunset: the journal could not be written or read (${sqlite}: ${(error as Error).message}). `
        + 'No contact was changed in Zoho Books without a journal entry: once the journal\'s disk has space and the file is writable, '
        + '`sunset apply --resume` settles the steps that were in flight and finishes the run. `sunset runs check` checks the journal.\n');
      return 1;
    }
    io.stderr.write(`sunset: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    else io.stderr.write('This is a bug in sunset. Run again with --debug for the stack trace, and report it.\n');
    return 1;
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
    if (stopping || stopListeners.length === 0) process.exit(130);
    stopping = true;
    for (const listener of stopListeners) listener();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onStop: (listener) => stopListeners.push(listener),
  });
  process.exitCode = code;
}
