/**
 * `sunset connections add|list|test|remove|rotate-key`: the Zoho accounts Sunset reaches, one per
 * connection (an account on a data centre, or an account of a Sunset emulator), kept in the
 * database with their secrets sealed (src/cli/secret-key.ts). Secrets come from the environment or
 * a hidden prompt, never from flags.
 */
import { parseArgs } from 'node:util';
import { emulatorInfo } from '../connection.js';
import { keepConnection, KeepRefused, testConnection, type ConnectionSpec } from '../connection-admin.js';
import {
  CONNECTION_NAME, CONNECTION_NAME_RULE, ConnectionError, createConnectionStore, databaseLabel, emulatorTarget, SecretError, zohoTarget, type ConnectionSecrets, type ConnectionStore,
} from '../../engine/index.js';
import { DATA_CENTRES, isDataCentre, type DataCentre } from '../../zoho/index.js';
import { actorName } from '../actor.js';
import { choiceFlag, parseFlags } from '../args.js';
import { credentialsPath, credentialsTarget, readCredentials } from '../credentials.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { commitNewKey, secretKeys, stageNewKey } from '../secret-key.js';
import { mask, selfClientSecrets } from '../self-client.js';
import { formatInstant } from '../terminal.js';
import { openStorage, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset connections add NAME --dc DC --client-id ID
       sunset connections add NAME --emulator URL [--client-id ID]
       sunset connections list [--json]
       sunset connections test NAME [--json]
       sunset connections remove NAME
       sunset connections rotate-key

A connection is one Zoho account on one data centre: a self-client's id and secret, a refresh
token and the scopes it grants, and the organizations it reaches (an organization belongs to one
connection; a command or page that names an organization uses its connection). A consultancy adds
one per client account, on whichever data centre that client is.

add         Checks the account (lists its organizations) and keeps it. The client secret comes
            from SUNSET_CLIENT_SECRET, and a self-client's grant code from SUNSET_GRANT_CODE (or
            a refresh token from SUNSET_REFRESH_TOKEN), or each is asked for without echo. With
            --emulator URL and no --client-id: the emulator's own default account.
list        The connections, their organizations and when each was last tested. No secret.
test        Refreshes the token and lists the organizations again (recording them); exit 1 if
            the account refuses.
remove      Forgets a connection and its secrets (the journal keeps every run made through it).
rotate-key  Re-seals every stored secret with a new key, and replaces the key file.

Secrets at rest are sealed with AES-256-GCM. The key: SUNSET_SECRET_KEY (64 hex digits or base64
of 32 bytes), or the key file SUNSET_SECRET_KEY_FILE (default ~/.sunset/secret.key, made
owner-only on first use). Keep it away from the database's backups. Credentials saved by
\`sunset auth login\` become the connection "default" the first time this command runs.

Options:
  --dc DC               Data centre: ${Object.keys(DATA_CENTRES).join(', ')}
  --client-id ID        The self-client's client id (Zoho's API console)
  --emulator URL        An account of a running \`sunset emulator start\` instead of Zoho
  --database URL|FILE   Where connections are kept: the journal's database         SUNSET_DATABASE_URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --actor NAME          Who adds it, for the record (default user@host)            SUNSET_ACTOR
  --json                Print the result as JSON on stdout
  --help, -h            Show this help
`;

export const OPTIONS = {
  dc: { type: 'string' }, 'client-id': { type: 'string' }, emulator: { type: 'string' }, database: { type: 'string' }, db: { type: 'string' },
  actor: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

export const SUBCOMMANDS = ['add', 'list', 'test', 'remove', 'rotate-key'] as const;


/** The one-time move of `sunset auth login`'s credentials file into the connections, if there is one and no connection yet. */
async function importCredentialsFile(io: CliIO, store: ConnectionStore, actor: string): Promise<void> {
  if ((await store.list()).length > 0) return;
  const path = credentialsPath(io.env);
  const stored = readCredentials(path);
  if (!stored) return;
  await store.add({
    name: 'default', target: credentialsTarget(stored), dataCentre: stored.kind === 'zoho' ? stored.dataCentre ?? 'US' : null,
    baseUrl: stored.baseUrl ?? null, accountsUrl: stored.accountsUrl ?? null, clientId: stored.clientId, clientSecret: stored.clientSecret,
    refreshToken: stored.refreshToken, scopes: [], createdAt: Date.now(), createdBy: `${actor} (from ${path})`,
  });
  io.stderr.write(`The credentials of \`sunset auth login\` (${path}) are now the connection "default"; \`sunset connections test default\` records its organizations.\n`);
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'connections');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const [verb, name, ...rest] = positionals;
  if (!verb) throw new ExitError(`\`sunset connections\` needs a subcommand: ${SUBCOMMANDS.join(', ')}.\n\n${HELP}`, EXIT.usage);
  if (!(SUBCOMMANDS as readonly string[]).includes(verb)) throw new ExitError(`Unknown: sunset connections ${verb}. It is one of: ${SUBCOMMANDS.join(', ')}.`, EXIT.usage);
  const needsName = verb === 'add' || verb === 'test' || verb === 'remove';
  if (needsName && !name) throw new ExitError(`Name the connection: sunset connections ${verb} NAME`, EXIT.usage);
  if (!needsName && name) throw new ExitError(`\`sunset connections ${verb}\` takes no ${name}.`, EXIT.usage);
  if (rest.length > 0) throw new ExitError(`\`sunset connections ${verb}\` takes one name, not ${rest.join(' ')}.`, EXIT.usage);
  if (name && !CONNECTION_NAME.test(name)) throw new ExitError(`${name}: ${CONNECTION_NAME_RULE}.`, EXIT.usage);
  if (verb !== 'add' && (given.dc !== undefined || given['client-id'] !== undefined || given.emulator !== undefined)) {
    throw new ExitError(`--dc, --client-id and --emulator are for \`sunset connections add\`.`, EXIT.usage);
  }

  const values = withEnvTwins(given, io.env, OPTIONS);
  const actor = actorName(io.env, values.actor);
  const keys = secretKeys(io.env);
  const { journal, database } = await openStorage(values.db ?? 'sunset.db');
  const store = createConnectionStore(database, keys);
  try {
    await importCredentialsFile(io, store, actor);
    if (verb === 'list') return await list(io, store, values.json === true);
    if (verb === 'rotate-key') {
      if (!keys.file) throw new ExitError('The key comes from SUNSET_SECRET_KEY: rotate it by sealing with a new key file instead. Put the current key in a file, point SUNSET_SECRET_KEY_FILE at it, unset SUNSET_SECRET_KEY, then run this again.', EXIT.usage);
      keys.box();
      const next = stageNewKey(keys.file);
      const count = await store.reseal(next);
      commitNewKey(keys.file);
      io.stdout.write(`${count} connection${count === 1 ? '' : 's'} re-sealed with a new key (id ${next.keyId}), now in ${keys.file}; the old key is gone.\n`);
      return EXIT.ok;
    }
    if (verb === 'remove') {
      if (!(await store.remove(name!))) throw new ExitError(`There is no connection ${name} in ${databaseLabel(values.db ?? 'sunset.db')}. \`sunset connections list\` lists them.`, EXIT.notFound);
      io.stdout.write(`Connection ${name} and its secrets are forgotten; the runs made through it stay in the journal.\n`);
      return EXIT.ok;
    }
    if (verb === 'test') return await test(io, store, name!, values.json === true);
    return await add(io, store, name!, values, actor);
  } catch (error) {
    if (error instanceof ConnectionError) throw new ExitError(error.message);
    if (error instanceof SecretError) throw new ExitError(`The stored secrets do not open with the key from ${keys.source}: ${error.message}.`);
    throw error;
  } finally {
    await journal.close();
  }
}

async function list(io: CliIO, store: ConnectionStore, json: boolean): Promise<number> {
  const all = await store.list();
  if (json) {
    io.stdout.write(`${JSON.stringify(all.map((c) => ({ ...c, clientId: mask(c.clientId) })))}\n`);
    return EXIT.ok;
  }
  if (all.length === 0) {
    io.stdout.write('No connections yet: `sunset connections add NAME --dc DC --client-id ID` adds one.\n');
    return EXIT.ok;
  }
  for (const c of all) {
    const tested = c.testedAt === null ? 'never tested' : c.testError ? `test FAILED ${formatInstant(c.testedAt)}: ${c.testError}` : `tested ${formatInstant(c.testedAt)}`;
    io.stdout.write(`${c.name}  ${c.target}  client ${mask(c.clientId)}  ${tested}\n`);
    if (c.organizations.length === 0) io.stdout.write('    (organizations not recorded yet: `sunset connections test ' + c.name + '`)\n');
    for (const o of c.organizations) io.stdout.write(`    ${o.organizationId}  ${o.name}${o.timeZone ? `  (${o.timeZone})` : ''}\n`);
  }
  return EXIT.ok;
}

async function test(io: CliIO, store: ConnectionStore, name: string, json: boolean): Promise<number> {
  const c: ConnectionSecrets | undefined = await store.open(name);
  if (!c) throw new ExitError(`There is no connection ${name}. \`sunset connections list\` lists them.`, EXIT.notFound);
  const tested = await testConnection(store, c);
  if (!tested.ok) {
    if (json) io.stdout.write(`${JSON.stringify({ name, ok: false, error: tested.error })}\n`);
    else io.stderr.write(`Connection ${name} (${c.target}) does not work: ${tested.error}\n`);
    return EXIT.failure;
  }
  const { organizations } = tested;
  if (json) io.stdout.write(`${JSON.stringify({ name, ok: true, organizations })}\n`);
  else io.stdout.write(`Connection ${name} (${c.target}) works; it reaches ${organizations.map((o) => `${o.organizationId} (${o.name})`).join(', ') || 'no organization'}.\n`);
  return EXIT.ok;
}

async function add(io: CliIO, store: ConnectionStore, name: string, values: { dc?: string; 'client-id'?: string; emulator?: string; json?: boolean }, actor: string): Promise<number> {
  if (await store.get(name)) throw new ExitError(`There is already a connection named ${name}; remove it first, or pick another name.`, EXIT.usage);
  let spec: ConnectionSpec;
  if (values.emulator) {
    if (values.dc) throw new ExitError('--dc or --emulator: a connection reaches one of them.', EXIT.usage);
    const info = await emulatorInfo(values.emulator);
    const clientId = values['client-id'];
    spec = clientId
      ? { target: emulatorTarget(info.baseUrl), dataCentre: null, baseUrl: info.baseUrl, accountsUrl: info.accountsUrl, clientId, ...(await selfClientSecrets(io, info.accountsUrl, clientId, 'The grant code was not accepted, so nothing was kept')) }
      : { target: emulatorTarget(info.baseUrl), dataCentre: null, baseUrl: info.baseUrl, accountsUrl: info.accountsUrl, clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken };
  } else {
    const dc = choiceFlag(values.dc?.toUpperCase(), 'dc', Object.keys(DATA_CENTRES) as DataCentre[]);
    if (!dc || !isDataCentre(dc)) throw new ExitError(`Name the data centre with --dc (${Object.keys(DATA_CENTRES).join(', ')}), or an emulator with --emulator URL.`, EXIT.usage);
    const clientId = values['client-id'];
    if (!clientId) throw new ExitError('Give the self-client\'s --client-id (from Zoho\'s API console).', EXIT.usage);
    spec = { target: zohoTarget(dc), dataCentre: dc, baseUrl: null, accountsUrl: null, clientId, ...(await selfClientSecrets(io, DATA_CENTRES[dc].accountsUrl, clientId, 'The grant code was not accepted, so nothing was kept')) };
  }
  let organizations;
  try {
    organizations = await keepConnection(store, name, spec, actor);
  } catch (error) {
    if (error instanceof KeepRefused) throw new ExitError(error.message);
    throw error;
  }
  if (values.json) io.stdout.write(`${JSON.stringify({ name, target: spec.target, organizations })}\n`);
  else {
    io.stdout.write(`Connection ${name} added (${spec.target}); its secrets are sealed in the database. It reaches:\n`);
    for (const o of organizations) io.stdout.write(`  ${o.organizationId}  ${o.name}${o.timeZone ? `  (${o.timeZone})` : ''}\n`);
  }
  return EXIT.ok;
}
