/** `sunset policy init [FILE]`: write a policy with every default spelled out, to start from. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultPolicyText } from '../../engine/index.js';
import { parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { resolveOrganization } from '../organization.js';
import { writeOutput } from '../output-file.js';
import { COMMON_FLAGS, COMMON_HELP, openWorkspace, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset policy init [FILE] [--org ID] [--force]

Writes a policy (default sunset-policy.yaml) for the organization with every default written out
and commented: 24 months of inactivity, the activity that counts per contact type, the safety
exclusions (open balances, unused credits, 90-day grace period), filters and a cap.
Without --org, the organization is the one chosen at \`sunset auth login\`, or the only one
reachable; with several, it asks on a terminal and otherwise lists them and stops.

Options:
  --force               Overwrite an existing file
${COMMON_HELP}
`;

export const OPTIONS = { ...COMMON_FLAGS, force: { type: 'boolean' } } as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'policy init');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  if (positionals.length > 1) throw new ExitError('Give at most one file name.', EXIT.usage);
  const file = positionals[0] ?? 'sunset-policy.yaml';
  if (existsSync(file) && !values.force) throw new ExitError(`${file} exists; add --force to overwrite it.`);
  const workspace = await openWorkspace(io, values);
  try {
    const organizationId = await resolveOrganization(workspace.connection, values.org, undefined, io);
    writeOutput(file, defaultPolicyText(organizationId));
    if (values.json) io.stdout.write(`${JSON.stringify({ file, organizationId })}\n`);
    else io.stdout.write(`Wrote ${file} for organization ${organizationId}. Review it, then: sunset scan --policy ${file}\n`);
    return 0;
  } finally {
    await workspace.close();
  }
}
