/** `sunset orgs`: the organizations the credentials reach. */
import { parseArgs } from 'node:util';
import { parseFlags } from '../args.js';
import { explain } from '../connection.js';
import type { CliIO } from '../io.js';
import { COMMON_FLAGS, COMMON_HELP, openWorkspace, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset orgs [options]

Lists the Zoho Books organizations the credentials reach, with their plans.

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
  const workspace = await openWorkspace(io, values);
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
