/** `sunset emulator start`: run the Zoho Books emulator until Ctrl-C. */
import { createEmulator, listen, parseFaultSpec, FaultSpecError, type FaultRuleInput } from '../../emulator/index.js';
import { DATA_CENTRES, isDataCentre, parseZohoTime, type DataCentre } from '../../zoho/index.js';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { choiceFlag, intFlag, parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';

const HELP = `Usage: sunset emulator start [options]

Runs a local, stateful Zoho Books API v3 emulator: contacts, transactions, OAuth, per-organization
limits, fault injection and a controllable clock. Point any Zoho Books client at the printed
baseUrl and accountsUrl. Stop it with Ctrl-C.

Options:
  --port N              Port to listen on (default 8742; 0 picks a free one)
  --host HOST           Address to listen on (default 127.0.0.1)
  --db FILE             Keep state in this SQLite file (default: in memory). An existing file keeps
                        its data across restarts and is not seeded again.
  --seed demo|empty     Demo data (default) or organizations with no contacts
  --random-seed N       Seed for the demo data and the ready-made credentials (default 42)
  --contacts N          Contacts in the first demo organization (default 1000)
  --accounts N          Also make N more accounts (default 0, at most 100), each with two
                        organizations of its own (plans, currencies and time zones vary), a fifth
                        of --contacts each, and its own self-client and refresh token; --json
                        lists every account under "accounts". A token reaches only its own
                        account's organizations. More with POST /__emulator/accounts. An
                        existing --db file keeps the accounts it has.
  --dc DC               The data centre this emulator stands for: US, EU, IN, AU, JP, CA, SA or CN
                        (default none). Ids and credentials then differ per data centre, so two
                        emulators on two ports are two data centres that share nothing.
  --token-ttl SECONDS   Access-token lifetime (default 3600)
  --no-limits           Never answer 44/45/1070 (the X-Rate-Limit-* headers show the whole quota left)
  --per-minute N        Requests per minute per organization (default 100)
  --daily N             Daily quota for every organization (default: by plan, 1000 to 10000)
  --in-flight N         Concurrent requests per organization (default: 5 free, 10 paid)
  --latency MS          Processing time added to every Books request (default 0)
  --fault SPEC          Inject faults; repeatable. SPEC is KIND[:ARG][,key=value]... where KIND is
                        500, 503, 429, latency:MS, drop (close the connection, request not
                        handled), drop-answer (handle the request, then close the connection
                        instead of answering) or expire-token, and keys are rate, count, skip,
                        every, method, path. Examples:
                          --fault 503,rate=0.1
                          --fault 429,count=5,path=/contacts/*/inactive
                          --fault drop,every=50
                          --fault drop-answer,count=1,method=POST,path=/contacts/*/inactive
  --start-at TIME       Start the emulated clock at this ISO time instead of now
  --json                Print one line of JSON (addresses and credentials) first, then only logs
                        on stderr
  --help                Show this help

The admin API (GET /__emulator/info, GET and POST /__emulator/accounts, POST /__emulator/clock,
/faults, /grants, /seed, /reset, GET /__emulator/requests) is described in docs/emulator.md.
`;

/** Refuses a --db path that cannot be a database file, before anything is created. */
function checkDbPath(path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    const dir = dirname(resolve(path));
    if (!existsSync(dir)) throw new ExitError(`--db ${path}: the directory ${dir} does not exist.`);
    return;
  }
  if (stat.isDirectory()) throw new ExitError(`--db ${path} is a directory; the emulator database must be a file, e.g. --db ${join(path, 'books.db')}.`);
}

export const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  db: { type: 'string' },
  seed: { type: 'string' },
  'random-seed': { type: 'string' },
  contacts: { type: 'string' },
  accounts: { type: 'string' },
  dc: { type: 'string' },
  'token-ttl': { type: 'string' },
  limits: { type: 'boolean' },
  'per-minute': { type: 'string' },
  daily: { type: 'string' },
  'in-flight': { type: 'string' },
  latency: { type: 'string' },
  fault: { type: 'string', multiple: true },
  'start-at': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export const NEGATABLE = ['limits'] as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, allowNegative: true, options: OPTIONS }), 'emulator start');
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new ExitError(`Unexpected argument "${positionals[0]}". Run \`sunset emulator start --help\`.`, EXIT.usage);

  const faults: FaultRuleInput[] = [];
  for (const spec of values.fault ?? []) {
    try {
      faults.push(parseFaultSpec(spec));
    } catch (error) {
      if (error instanceof FaultSpecError) throw new ExitError(`--fault: ${error.message}`, EXIT.usage);
      throw error;
    }
  }
  let startAt: number | undefined;
  if (values['start-at'] !== undefined) {
    startAt = parseZohoTime(values['start-at']);
    if (startAt === undefined) throw new ExitError(`--start-at must be an ISO time like 2026-01-31T09:00:00Z (got "${values['start-at']}").`, EXIT.usage);
  }
  const listenPort = intFlag(values.port, 'port', 0, 65535) ?? 8742;
  const perMinute = intFlag(values['per-minute'], 'per-minute', 1, 1e9);
  const daily = intFlag(values.daily, 'daily', 1, 1e9);
  const inFlight = intFlag(values['in-flight'], 'in-flight', 1, 1e6);

  const seed = choiceFlag(values.seed, 'seed', ['demo', 'empty'] as const);
  const randomSeed = intFlag(values['random-seed'], 'random-seed', 0, 2 ** 31 - 1);
  const contacts = intFlag(values.contacts, 'contacts', 1, 1_000_000);
  const extraAccounts = intFlag(values.accounts, 'accounts', 0, 100) ?? 0;
  let dataCentre: DataCentre | undefined;
  if (values.dc !== undefined) {
    const dc = values.dc.toUpperCase();
    if (!isDataCentre(dc)) throw new ExitError(`--dc must be one of ${Object.keys(DATA_CENTRES).join(', ')} (got "${values.dc}").`, EXIT.usage);
    dataCentre = dc;
  }
  const tokenTtlSeconds = intFlag(values['token-ttl'], 'token-ttl', 1, 86_400 * 365);
  const baseLatencyMs = intFlag(values.latency, 'latency', 0, 600_000);
  if (values.db !== undefined) checkDbPath(values.db);

  let emulator;
  try {
    emulator = createEmulator({
      db: values.db,
      seed,
      randomSeed,
      contacts,
      tokenTtlSeconds,
      limits: values.limits === false ? false : { perMinute, daily, inFlight },
      faults,
      startAt,
      baseLatencyMs,
      accounts: Array.from({ length: extraAccounts }, () => ({})),
      dataCentre,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ExitError(`Cannot open the emulator database ${values.db ?? '(in memory)'}: ${message}`);
  }

  let server;
  try {
    server = await listen(emulator, { host: values.host, port: listenPort });
  } catch (error) {
    emulator.close();
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new ExitError(`Port ${listenPort} is already in use. Pick another with --port, or --port 0 for any free port.`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ExitError(`Cannot listen on ${values.host}: no such local address.`);
    throw error;
  }

  const info = emulator.info(server.origin);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(info)}\n`);
  } else {
    const counts = emulator.store.db.prepare('SELECT organization_id, COUNT(*) AS n FROM contacts GROUP BY organization_id').all() as Array<{ organization_id: string; n: number }>;
    const count = (id: string): number => counts.find((c) => c.organization_id === id)?.n ?? 0;
    const organization = info.organizations[0];
    const others = (info.accounts ?? []).slice(1);
    io.stdout.write(
      `Zoho Books emulator listening on ${server.origin}${values.db ? ` (state in ${values.db})` : ' (in memory)'}\n` +
        (info.dataCentre ? `  Data centre    ${info.dataCentre}\n` : '') +
        `  Books API      ${info.baseUrl}\n` +
        `  Accounts       ${info.accountsUrl}/oauth/v2/token\n` +
        `  Admin API      ${server.origin}/__emulator/info\n` +
        info.organizations.map((o) => `  Organization   ${o.organization_id}  ${o.name} (${o.plan}, ${count(o.organization_id)} contacts)\n`).join('') +
        `  Client id      ${info.clientId}\n` +
        `  Client secret  ${info.clientSecret}\n` +
        `  Refresh token  ${info.refreshToken}\n` +
        `  Access token   ${info.accessToken}  (every scope, ${emulator.options.tokenTtlSeconds} s)\n` +
        others.map((a) =>
          `\n  Account        ${a.account_id}  ${a.name}\n` +
            a.organizations.map((o) => `  Organization   ${o.organization_id}  ${o.name} (${o.plan}, ${o.currency_code}, ${o.time_zone}, ${count(o.organization_id)} contacts)\n`).join('') +
            `  Client id      ${a.clientId}\n` +
            `  Client secret  ${a.clientSecret}\n` +
            `  Refresh token  ${a.refreshToken}\n`,
        ).join('') +
        (faults.length > 0 ? `  Faults         ${(values.fault ?? []).join('  ')}\n` : '') +
        `\nTry:\n  curl -H "Authorization: Zoho-oauthtoken ${info.accessToken}" \\\n    "${info.baseUrl}/contacts?organization_id=${organization?.organization_id ?? ''}&per_page=5"\n` +
        `\nPress Ctrl-C to stop.\n`,
    );
  }

  await new Promise<void>((resolve) => io.onStop(resolve));
  io.stderr.write('Stopping the emulator...\n');
  await server.close();
  emulator.close();
  return 0;
}
