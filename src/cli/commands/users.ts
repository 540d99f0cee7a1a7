/** `sunset users add NAME`: a local user who can sign in to `sunset serve`. */
import { parseArgs } from 'node:util';
import { createServiceStore, hashPassword, passwordProblem } from '../../service/index.js';
import { parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { askHidden } from '../terminal.js';
import { openStorage, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset users add NAME [--database URL|FILE]

Adds a user who can sign in to \`sunset serve\` (or sets a new password for an existing one, which
also signs them out everywhere). The password is read from SUNSET_PASSWORD, or asked for twice
without echo; it needs at least 12 characters and is stored only as a scrypt hash.

Options:
  --database URL|FILE   The database \`sunset serve\` uses: a SQLite file        SUNSET_DATABASE_URL
                        (default ./sunset.db) or a postgres:// URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --help, -h            Show this help
`;

export const OPTIONS = { database: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean' } } as const;

export const SUBCOMMANDS = ['add'] as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'users');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new ExitError(`\`sunset users\` needs a subcommand: sunset users add NAME.\n\n${HELP}`, EXIT.usage);
  const values = withEnvTwins(given, io.env, OPTIONS);
  if (positionals[0] !== 'add' || positionals.length !== 2) throw new ExitError('Use: sunset users add NAME', EXIT.usage);
  const name = positionals[1]!;
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new ExitError('A user name has 1 to 64 letters, digits or . _ @ -', EXIT.usage);
  let password = io.env.SUNSET_PASSWORD ?? '';
  if (!password) {
    if (!io.stdin.isTTY) throw new ExitError('No password: set SUNSET_PASSWORD, or run this on a terminal to be asked.', EXIT.usage);
    password = await askHidden(io, 'Password: ');
    if ((await askHidden(io, 'Again: ')) !== password) throw new ExitError('The two passwords differ; nothing was changed.', EXIT.usage);
  }
  const problem = passwordProblem(password);
  if (problem) throw new ExitError(`${problem}; nothing was changed.`, EXIT.usage);
  const { journal, database } = await openStorage(values.db ?? 'sunset.db');
  try {
    const store = createServiceStore(database);
    await store.migrate();
    const result = await store.addUser(name, await hashPassword(password), Date.now());
    io.stdout.write(result === 'added' ? `User ${name} added; they can sign in to \`sunset serve\`.\n` : `Password of ${name} changed; their sessions were ended.\n`);
    return 0;
  } finally {
    await journal.close();
  }
}
