/**
 * `sunset auth login|status|logout`: credentials for real Zoho accounts (or a running emulator),
 * stored owner-only and never printed. Secrets come from the environment or a hidden prompt, never
 * from flags, so they do not show in process listings or shell history.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMemoryTokenStore, createZohoBooksClient, revokeRefreshToken, ZohoError } from '../../client/index.js';
import { DATA_CENTRES, isDataCentre, isOrganizationId, type DataCentre } from '../../zoho/index.js';
import { choiceFlag, parseFlags } from '../args.js';
import { credentialsPath, readCredentials, writeCredentials, type StoredCredentials } from '../credentials.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { emulatorInfo } from '../connection.js';
import { mask, selfClientSecrets } from '../self-client.js';

const HELP = `Usage: sunset auth login --dc DC --client-id ID [--org ID]
       sunset auth login --emulator URL [--org ID]
       sunset auth status
       sunset auth logout

login   Signs in to Zoho with a self-client: in Zoho's API console (api-console.zoho.<dc>) make a
        Self Client, generate a code with the scopes ZohoBooks.fullaccess.all (or contacts.ALL,
        settings.READ and the READ scopes of the transaction modules), then run this within the
        code's lifetime. The client secret and the code (or an existing refresh token) are read
        from SUNSET_CLIENT_SECRET and SUNSET_GRANT_CODE (or SUNSET_REFRESH_TOKEN), or asked for
        without echo. The refresh token is stored, owner-only, in ~/.sunset/credentials.json
        (SUNSET_HOME or --credentials move it); it is never printed.
        With --emulator URL, uses a running \`sunset emulator start\` instead.
status  Shows where the credentials point (data centre, client id, default organization).
logout  Revokes the refresh token at Zoho and deletes the stored credentials and tokens.

Options:
  --dc DC               Data centre: ${Object.keys(DATA_CENTRES).join(', ')}
  --client-id ID        The self-client's client id
  --org ID              The organization commands use by default
  --credentials FILE    Where the credentials live
`;

export const OPTIONS = {
  dc: { type: 'string' }, 'client-id': { type: 'string' }, org: { type: 'string' }, emulator: { type: 'string' }, credentials: { type: 'string' }, help: { type: 'boolean' },
} as const;

export const SUBCOMMANDS = ['login', 'status', 'logout'] as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'auth');
  const verb = positionals[0];
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (verb === undefined) throw new ExitError(`\`sunset auth\` needs a subcommand: sunset auth login, sunset auth status, sunset auth logout.\n\n${HELP}`, EXIT.usage);
  const path = credentialsPath(io.env, values.credentials);
  if (values.org !== undefined && !isOrganizationId(values.org)) throw new ExitError(`--org ${values.org}: an organization id is digits only.`, EXIT.usage);

  if (verb === 'status') {
    const stored = readCredentials(path);
    if (!stored) {
      io.stdout.write(`Not signed in (no ${path}); commands use the embedded emulator.\n`);
      return 0;
    }
    io.stdout.write(
      `Credentials in ${path}\n` +
        `  target        ${stored.kind === 'emulator' ? `the emulator at ${stored.accountsUrl}` : `Zoho, data centre ${stored.dataCentre}`}\n` +
        `  client id     ${mask(stored.clientId)}\n` +
        `  organization  ${stored.organizationId ?? '(none by default)'}\n`,
    );
    return 0;
  }

  if (verb === 'logout') {
    const stored = readCredentials(path);
    if (!stored) {
      io.stdout.write('Not signed in; nothing to do.\n');
      return 0;
    }
    const accountsUrl = stored.accountsUrl ?? DATA_CENTRES[stored.dataCentre ?? 'US'].accountsUrl;
    let revoked = false;
    try {
      revoked = await revokeRefreshToken({ accountsUrl, token: stored.refreshToken, timeoutMs: 15_000 });
    } catch {
      revoked = false;
    }
    rmSync(path, { force: true });
    rmSync(join(dirname(path), 'tokens.json'), { force: true });
    io.stdout.write(`Signed out: credentials deleted${revoked ? ' and the refresh token revoked at Zoho' : '; Zoho did not confirm the revocation (revoke it in the API console if needed)'}.\n`);
    return 0;
  }

  if (verb !== 'login') throw new ExitError(`Unknown command "auth ${verb}": use login, status or logout.`, EXIT.usage);

  let credentials: StoredCredentials;
  if (values.emulator) {
    const info = await emulatorInfo(values.emulator);
    credentials = { version: 1, kind: 'emulator', baseUrl: info.baseUrl, accountsUrl: info.accountsUrl, clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken };
  } else {
    const dc = choiceFlag(values.dc?.toUpperCase(), 'dc', Object.keys(DATA_CENTRES) as DataCentre[]);
    if (!dc || !isDataCentre(dc)) throw new ExitError(`Name the data centre with --dc (${Object.keys(DATA_CENTRES).join(', ')}).`, EXIT.usage);
    const clientId = values['client-id'];
    if (!clientId) throw new ExitError('Give the self-client\'s --client-id (from Zoho\'s API console).', EXIT.usage);
    const { clientSecret, refreshToken } = await selfClientSecrets(io, DATA_CENTRES[dc].accountsUrl, clientId, 'Sign-in failed');
    credentials = { version: 1, kind: 'zoho', dataCentre: dc, clientId, clientSecret, refreshToken };
  }

  // Check the credentials work, and pick the default organization.
  const client = createZohoBooksClient({
    dataCentre: credentials.kind === 'zoho' ? credentials.dataCentre : undefined,
    baseUrl: credentials.baseUrl,
    accountsUrl: credentials.accountsUrl,
    credentials: { clientId: credentials.clientId, clientSecret: credentials.clientSecret, refreshToken: credentials.refreshToken },
    tokenStore: createMemoryTokenStore(),
  });
  let organizations;
  try {
    organizations = await client.organizations.list();
  } catch (error) {
    throw new ExitError(`The credentials did not work, so nothing was saved: ${error instanceof ZohoError ? error.message : String(error)}`);
  }
  if (values.org && !organizations.some((o) => o.organization_id === values.org)) {
    throw new ExitError(`Organization ${values.org} is not reachable with these credentials; reachable: ${organizations.map((o) => `${o.organization_id} (${o.name})`).join(', ')}. Nothing was saved.`, EXIT.notFound);
  }
  credentials.organizationId = values.org ?? (organizations.length === 1 ? organizations[0]!.organization_id : undefined);
  writeCredentials(path, credentials);
  io.stdout.write(
    `Signed in to ${credentials.kind === 'emulator' ? `the emulator at ${credentials.accountsUrl}` : `Zoho (${credentials.dataCentre})`}; credentials saved to ${path} (owner-only).\n` +
      organizations.map((o) => `  ${o.organization_id}  ${o.name} (${o.plan_name})${o.organization_id === credentials.organizationId ? '  [default]' : ''}\n`).join(''),
  );
  return 0;
}
