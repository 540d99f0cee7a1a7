/** `sunset orgs`: the organizations the credentials reach. */
import { parseArgs } from 'node:util';
import { parseFlags } from '../args.js';
import { connectionClient, explain } from '../connection.js';
import { createConnectionStore, type SqlDatabase } from '../../engine/index.js';
import { EXIT } from '../exit-codes.js';
import { secretKeys } from '../secret-key.js';
import type { CliIO } from '../io.js';
import { COMMON_FLAGS, COMMON_HELP, openStorage, openWorkspace, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset orgs [options]

Lists the Zoho Books organizations the credentials reach, with their plans. With connections
(\`sunset connections\`) and no --emulator or --credentials: each connection's organizations, as
its account answers now.

${COMMON_HELP}
`;

export const OPTIONS = COMMON_FLAGS;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given } = parseFlags(() => parseArgs({ args: argv, strict: true, options: OPTIONS }), 'orgs');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  // One opening of the database: for the connections' listing, or for the workspace.
  const storage = await openStorage(values.db ?? 'sunset.db');
  if (values.emulator === undefined && values.credentials === undefined && values.org === undefined) {
    let listed: number | undefined;
    try {
      listed = await listConnections(io, storage.database, values.json === true);
    } catch (error) {
      await storage.journal.close();
      throw error;
    }
    if (listed !== undefined) {
      await storage.journal.close();
      return listed;
    }
  }
  const workspace = await openWorkspace(io, values, { storage });
  try {
    let organizations;
    try {
      organizations = await workspace.connection.port(workspace.connection.defaultOrganizationId ?? '0').organizations();
    } catch (error) {
      throw explain(error, 'listing organizations');
    }
    if (values.json) io.stdout.write(`${JSON.stringify(organizations)}\n`);
    else {
      io.stdout.write(`Organizations reachable through ${workspace.connection.description}:\n`);
      for (const o of organizations) io.stdout.write(`  ${o.organizationId}  ${o.name} (${o.plan})${o.organizationId === workspace.connection.defaultOrganizationId ? '  [default]' : ''}\n`);
    }
    return 0;
  } finally {
    await workspace.close();
  }
}

/** Each connection's organizations, asked of its account now; undefined when the database has no connection. */
async function listConnections(io: CliIO, database: SqlDatabase, json: boolean): Promise<number | undefined> {
  const store = createConnectionStore(database, secretKeys(io.env));
  const all = await store.list();
  if (all.length === 0) return undefined;
  const out: Array<{ connection: string; target: string; organizations?: Array<{ organizationId: string; name: string; plan: string }>; error?: string }> = [];
  for (const info of all) {
    try {
      const c = (await store.open(info.name))!;
      const organizations = await connectionClient(c).organizations.list();
      out.push({ connection: c.name, target: c.target, organizations: organizations.map((o) => ({ organizationId: o.organization_id, name: o.name, plan: o.plan_name })) });
    } catch (error) {
      out.push({ connection: info.name, target: info.target, error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (json) io.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    for (const c of out) {
      io.stdout.write(`${c.connection} (${c.target})${c.error ? `: FAILED, ${c.error}` : ''}\n`);
      for (const o of c.organizations ?? []) io.stdout.write(`  ${o.organizationId}  ${o.name} (${o.plan})\n`);
    }
  }
  return out.some((c) => c.error) ? EXIT.failure : EXIT.ok;
}
