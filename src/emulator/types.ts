import type { DataCentre } from '../zoho/index.js';
import type { AccountInfo, AccountSpec } from './accounts.js';

/**
 * The emulator's transport-neutral request and response (the node:http server and the in-process
 * fetch both adapt to these), and the seed and info shapes its parts share.
 */

export interface EmulatorRequest {
  method: string;
  /** The path without the query string, still percent-encoded. */
  rawPath: string;
  query: URLSearchParams;
  /** The query string had an escape that is not valid UTF-8 (the pipeline answers 400 code 2). */
  invalidQuery?: boolean;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
}

export interface EmulatorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Close the connection without answering (an injected dropped connection). */
  drop?: boolean;
}

export type SeedName = 'demo' | 'empty';

export interface SeedOptions {
  seed: SeedName;
  randomSeed: number;
  /** Contacts in the first demo organization. */
  contacts: number;
  /** Accounts created after the default one (the `accounts` option); absent when there are none. */
  accounts?: AccountSpec[];
}

/** The ready-made credentials and addresses `sunset emulator start --json` prints. */
export interface EmulatorInfo {
  baseUrl: string;
  accountsUrl: string;
  organizations: Array<{ organization_id: string; name: string; plan: string }>;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessToken: string;
  /** The data centre the emulator stands for; present only when it was given one. */
  dataCentre?: DataCentre;
  /**
   * Every account, the default one (the fields above) first, as `GET /__emulator/accounts` lists
   * them; present only when the emulator holds more than the default account.
   */
  accounts?: AccountInfo[];
}
