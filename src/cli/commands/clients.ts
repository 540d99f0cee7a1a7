/**
 * `sunset clients list | set CLIENT ORG... | unset ORG...`: which client (the consultancy's
 * customer) each organization is grouped under, in the database `sunset serve` uses. The web UI's
 * organizations page does the same for an admin; people limited to some clients see only those.
 */
import { parseArgs } from 'node:util';
import { databaseLabel } from '../../engine/index.js';
import { clientNameProblem, createServiceStore, type ServiceStore } from '../../service/index.js';
import { isOrganizationId } from '../../zoho/index.js';
import { actorName } from '../actor.js';
import { parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { NoJournalError, openStorage, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset clients list [--json] [--database URL|FILE]
       sunset clients set CLIENT ORG... [--database URL|FILE]
       sunset clients unset ORG... [--database URL|FILE]

Groups organizations under clients: the consultancy's customers, each with one or more Zoho Books
organizations. The organizations page of \`sunset serve\` filters and sorts by client, and a user
limited to some clients (\`sunset users set-role NAME ROLE --clients "A, B"\`) sees only theirs.

  list    Each client and its organizations (names as the service last learned them).
  set     Groups the organizations under CLIENT (moving them from another client).
  unset   Groups the organizations under no client.

Examples:
  sunset clients set "Acme Ltd" 20071234567 20071234568
  sunset clients list --json

Options:
  --database URL|FILE   The database \`sunset serve\` uses: a SQLite file        SUNSET_DATABASE_URL
                        (default ./sunset.db) or a postgres:// URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --json                list: print JSON on stdout; a failure is {"error": {...}} there
  --help, -h            Show this help
`;

export const OPTIONS = { database: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } as const;
export const SUBCOMMANDS = ['list', 'set', 'unset'] as const;
const USAGE = 'sunset clients list, sunset clients set CLIENT ORG..., sunset clients unset ORG...';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'clients');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new ExitError(`\`sunset clients\` needs a subcommand: ${USAGE}.\n\n${HELP}`, EXIT.usage);
  const values = withEnvTwins(given, io.env, OPTIONS);
  const [subcommand, ...rest] = positionals;
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand!)) throw new ExitError(`Unknown: sunset clients ${subcommand}. Use: ${USAGE}.`, EXIT.usage);
  if (values.json && subcommand !== 'list') throw new ExitError('--json is for `sunset clients list`.', EXIT.usage);
  const location = values.db ?? 'sunset.db';
  if (subcommand === 'list') {
    if (rest.length > 0) throw new ExitError(`\`sunset clients list\` takes no ${rest[0]}.`, EXIT.usage);
    return list(location, values.json === true, io);
  }
  const client = subcommand === 'set' ? rest[0] ?? '' : null;
  const organizations = subcommand === 'set' ? rest.slice(1) : rest;
  if (client !== null) {
    const problem = clientNameProblem(client);
    if (problem) throw new ExitError(`${problem}. Use: sunset clients set CLIENT ORG...`, EXIT.usage);
  }
  if (organizations.length === 0) throw new ExitError(`Name at least one organization: sunset clients ${subcommand === 'set' ? 'set CLIENT ' : 'unset '}ORG...`, EXIT.usage);
  const bad = organizations.filter((o) => !isOrganizationId(o));
  if (bad.length > 0) throw new ExitError(`Not an organization id: ${bad.join(', ')} (\`sunset orgs\` lists them). Nothing was changed.`, EXIT.usage);
  const name = client === null ? null : client.trim();
  await withStore(location, false, async (store) => {
    const before = await store.organizationClients();
    for (const organizationId of organizations) {
      const from = before.get(organizationId) ?? null;
      if (from === name) continue;
      await store.setOrganizationClient(organizationId, name, actorName(io.env), Date.now());
      await store.recordAction({ at: Date.now(), username: actorName(io.env), action: 'organization.client', organizationId, subject: null, detail: { from, to: name, via: 'sunset clients' } });
    }
  });
  io.stdout.write(name === null ? `${organizations.join(', ')}: under no client now.\n` : `${organizations.join(', ')}: under ${name} now.\n`);
  return 0;
}

async function withStore<T>(location: string, create: boolean, work: (store: ServiceStore) => Promise<T>): Promise<T> {
  let storage;
  try {
    storage = await openStorage(location, { create });
  } catch (error) {
    if (error instanceof NoJournalError) throw new ExitError(`There is no database at ${databaseLabel(location)} yet: \`sunset users add NAME\` or \`sunset serve\` makes one.`, EXIT.notFound);
    throw error;
  }
  try {
    const store = createServiceStore(storage.database);
    await store.migrate();
    return await work(store);
  } finally {
    await storage.journal.close();
  }
}

async function list(location: string, json: boolean, io: CliIO): Promise<number> {
  const { clients, zones } = await withStore(location, false, async (store) => ({ clients: await store.organizationClients(), zones: await store.timeZones() }));
  const byClient = new Map<string, string[]>();
  for (const [organizationId, client] of [...clients].sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]))) {
    byClient.set(client, [...(byClient.get(client) ?? []), organizationId]);
  }
  // Organizations the service has seen (it keeps their time zones) and no client has.
  const ungrouped = [...zones.keys()].filter((o) => !clients.has(o)).sort();
  if (json) {
    io.stdout.write(`${JSON.stringify({ clients: [...byClient].map(([client, organizations]) => ({ client, organizations })), ungrouped })}\n`);
    return 0;
  }
  if (byClient.size === 0) io.stdout.write('No organization is grouped under a client yet: `sunset clients set CLIENT ORG...` groups them.\n');
  for (const [client, organizations] of byClient) io.stdout.write(`${client}\n${organizations.map((o) => `  ${o}\n`).join('')}`);
  if (ungrouped.length > 0) io.stdout.write(`Under no client (seen by \`sunset serve\`):\n${ungrouped.map((o) => `  ${o}\n`).join('')}`);
  return 0;
}
