/**
 * The top-level help (`sunset --help`) and the help of a command group (`sunset emulator --help`),
 * made from the command table, the exit-code table and the list of environment variables below
 * (docs/cli.md describes the same; test/cli/user-conventions.test.ts keeps them in step).
 */
import { COMMANDS, GLOBAL_OPTIONS } from './command-table.js';
import { EXIT_CODES } from './exit-codes.js';

/** Commands `main` answers itself, listed with the others. */
export const BUILTINS: Readonly<Record<string, { summary: string }>> = {
  'help COMMAND': { summary: 'Show a command\'s help (the same as sunset COMMAND --help)' },
  'completion SHELL': { summary: 'Print a completion script for bash or zsh (see sunset completion --help)' },
};

/** Every environment variable `sunset` reads, with the flag it stands in for. */
export const ENVIRONMENT: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: 'SUNSET_DATABASE_URL', meaning: '--database: the journal (a postgres:// URL or a SQLite file)' },
  { name: 'SUNSET_DB', meaning: '--db: the journal (a SQLite file; the older name)' },
  { name: 'SUNSET_ORG', meaning: '--org: the organization' },
  { name: 'SUNSET_EMULATOR', meaning: '--emulator: a running emulator or "embedded" (or SUNSET_EMULATOR_URL)' },
  { name: 'SUNSET_CREDENTIALS', meaning: '--credentials: the credentials file' },
  { name: 'SUNSET_HOME', meaning: 'where credentials and cached tokens live (default ~/.sunset)' },
  { name: 'SUNSET_ACTOR', meaning: '--actor: who the audit trail names (default user@host)' },
  { name: 'SUNSET_HOST', meaning: 'serve --host' },
  { name: 'SUNSET_PORT', meaning: 'serve --port' },
  { name: 'SUNSET_PUBLIC_URL', meaning: 'serve --public-url' },
  { name: 'SUNSET_METRICS_TOKEN', meaning: 'serve: the token /metrics wants, itself (no flag: a secret)' },
  { name: 'SUNSET_METRICS_TOKEN_FILE', meaning: 'serve --metrics-token-file' },
  { name: 'SUNSET_CRM_MAPPING', meaning: 'serve --crm-mapping' },
  { name: 'SUNSET_SMTP_URL', meaning: 'serve --smtp-url (here it may carry the password)' },
  { name: 'SUNSET_SMTP_PASSWORD', meaning: 'serve: the SMTP password, itself (no flag: a secret)' },
  { name: 'SUNSET_SMTP_PASSWORD_FILE', meaning: 'serve --smtp-password-file' },
  { name: 'SUNSET_MAIL_FROM', meaning: 'serve --mail-from' },
  { name: 'SUNSET_SECURE_COOKIES', meaning: 'serve --secure-cookies (1 or 0)' },
  { name: 'SUNSET_PASSWORD', meaning: 'users add: the password (else asked for on the terminal)' },
  { name: 'SUNSET_CLIENT_SECRET', meaning: 'auth login: the self-client\'s secret (else asked for)' },
  { name: 'SUNSET_GRANT_CODE', meaning: 'auth login: the grant code (else asked for)' },
  { name: 'SUNSET_REFRESH_TOKEN', meaning: 'auth login: an existing refresh token instead of a grant code' },
  { name: 'SUNSET_HEAP', meaning: 'scan, plan, serve, worker: small (default: a smaller V8 heap) or speed' },
  { name: 'NO_COLOR', meaning: 'no colour, no escape sequence, even on a terminal (beats FORCE_COLOR)' },
  { name: 'FORCE_COLOR', meaning: 'colour even off a terminal (0 or false: never)' },
  { name: 'TERM', meaning: 'dumb: no escape sequences' },
];

export function topHelp(): string {
  const commands = [...Object.entries(COMMANDS), ...Object.entries(BUILTINS)];
  const globals = Object.entries(GLOBAL_OPTIONS).map(([name, o]) => `--${name}${o.type === 'string' ? ' X' : ''}`);
  return `sunset — keep Zoho Books contact lists clean without losing a cent of history

Usage: sunset <command> [options]

Commands:
${commands.map(([name, c]) => `  ${name.padEnd(16)} ${c.summary}`).join('\n')}

Global options:
  --help, -h       Show help for a command (e.g. sunset emulator start --help, or sunset help scan)
  --debug          Print stack traces for unexpected errors
  --version, -v    Print the version
  --json           Print only JSON on stdout: the result, or on failure
                   {"error": {"code": "...", "message": "..."}} (the code names the exit code)
  These may also come before the command (sunset --db team.db runs):
  ${globals.join(', ')}

Environment (a flag on the command line beats its variable; an empty variable is unset):
${ENVIRONMENT.map((e) => `  ${e.name.padEnd(26)} ${e.meaning}`).join('\n')}

Exit codes (with --json, a failure's "code"):
${EXIT_CODES.map((e) => `  ${String(e.exit).padStart(3)}  ${e.code.padEnd(13)} ${e.meaning}`).join('\n')}
  An unexpected error (a bug) exits 1, with the code "internal".

Start here: \`sunset demo\`, or \`sunset emulator start\` and point your own Zoho Books code at it.
More in docs/cli.md: conventions, environment, exit codes, JSON output, shell completion.
`;
}

/** First words that are a command only with a second word (`emulator`, `policy`): their subcommands. */
export function groupCommands(word: string): string[] {
  if (COMMANDS[word]) return [];
  return Object.keys(COMMANDS).filter((name) => name.startsWith(`${word} `));
}

export function groupHelp(word: string, names: string[]): string {
  return `Usage: sunset ${word} <subcommand> [options]

Subcommands:
${names.map((name) => `  ${name.padEnd(16)} ${COMMANDS[name]!.summary}`).join('\n')}

Run \`sunset ${word} <subcommand> --help\` (or \`sunset help ${names[0]}\`) for a subcommand's options.
`;
}
