/**
 * A Zoho self-client's secrets, as `sunset auth login` and `sunset connections add` take them:
 * from the environment (SUNSET_CLIENT_SECRET, SUNSET_GRANT_CODE or SUNSET_REFRESH_TOKEN) or hidden
 * prompts, never from flags, so they do not show in process listings or shell history; a grant
 * code is exchanged at the accounts server for a refresh token.
 */
import { exchangeCode } from '../client/index.js';
import { EXIT, ExitError } from './exit-codes.js';
import type { CliIO } from './io.js';
import { askHidden } from './terminal.js';

/** A secret asked for without echo; empty off a terminal (the caller then says which variable to set). */
async function ask(io: CliIO, question: string): Promise<string> {
  if (!io.stdin.isTTY) return '';
  return (await askHidden(io, question)).trim();
}

/** An id shown without showing it: its start and end. */
export function mask(value: string): string {
  return value.length <= 10 ? '***' : `${value.slice(0, 9)}…${value.slice(-4)}`;
}

/**
 * The client secret and a refresh token (given, or from a grant code exchanged at `accountsUrl`).
 * `refused` starts the message when the accounts server refuses the code ("Sign-in failed").
 */
export async function selfClientSecrets(io: CliIO, accountsUrl: string, clientId: string, refused: string): Promise<{ clientSecret: string; refreshToken: string }> {
  const clientSecret = io.env.SUNSET_CLIENT_SECRET || (await ask(io, 'Client secret: '));
  if (!clientSecret) throw new ExitError('No client secret: set SUNSET_CLIENT_SECRET, or run this on a terminal to be asked.', EXIT.usage);
  let refreshToken = io.env.SUNSET_REFRESH_TOKEN ?? '';
  if (!refreshToken) {
    const code = io.env.SUNSET_GRANT_CODE || (await ask(io, 'Grant code from the API console: '));
    if (!code) throw new ExitError('No grant code or refresh token: set SUNSET_GRANT_CODE or SUNSET_REFRESH_TOKEN, or run this on a terminal to be asked.', EXIT.usage);
    try {
      refreshToken = (await exchangeCode({ accountsUrl, clientId, clientSecret, code })).refreshToken;
    } catch (error) {
      throw new ExitError(`${refused}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { clientSecret, refreshToken };
}
