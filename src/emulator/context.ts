/**
 * What route handlers see: the contexts the pipeline builds for the Books API, the accounts
 * server and the admin API, and the routes' shapes. Routes import these, never the emulator
 * itself (which imports the routes).
 */
import type { DataCentre } from '../zoho/index.js';
import type { AccountInfo, AccountSpec } from './accounts.js';
import type { Authority } from './auth.js';
import type { EmulatorClock } from './clock.js';
import type { FaultInjector } from './faults.js';
import type { Limiter } from './limits.js';
import type { RequestLog } from './request-log.js';
import type { OrganizationRow } from './store/rows.js';
import type { AccessToken } from './store/oauth.js';
import type { Store } from './store/store.js';
import type { EmulatorInfo, EmulatorRequest, SeedOptions } from './types.js';

/** What a Books handler sees once the pipeline has routed, authenticated and limited the request. */
export interface AccountContext {
  req: EmulatorRequest;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Emulated epoch milliseconds, read once per request. */
  now: number;
  token: AccessToken;
  /** The organizations this token may reach (its account's, within its grant), in account order. */
  organizations: OrganizationRow[];
  store: Store;
  /** Parses the body as a JSON object (JSON, or a form with a `JSONString` field); `{}` when empty. */
  body(): Record<string, unknown>;
}

export interface OrganizationContext extends AccountContext {
  organization: OrganizationRow;
  /** The organization's calendar date today, `yyyy-mm-dd`. */
  today: string;
  /** Who history entries name as the actor. */
  actor: string;
}

/** What a handler answers: a JSON object, with status 200 unless it says otherwise. */
export interface HandlerResult {
  status?: number;
  body: object;
}

export type BooksRoute =
  | { level: 'account'; scopes: readonly string[]; handler: (ctx: AccountContext) => HandlerResult }
  | { level: 'organization'; scopes: readonly string[]; handler: (ctx: OrganizationContext) => HandlerResult };

/** What the accounts server's handlers see (`/oauth/v2/...`). */
export interface OAuthContext {
  req: EmulatorRequest;
  /** How the caller reached the emulator: the `api_domain` of the tokens it issues. */
  origin: string;
  /** Emulated epoch milliseconds, read once per request. */
  now: number;
  authority: Authority;
}

export interface OAuthRoute {
  handler: (ctx: OAuthContext) => HandlerResult;
}

/**
 * The parts of an emulator the admin API drives: its state, its controls and its seeding hooks,
 * without its request pipeline. The emulator is one; the admin routes know it only as this.
 */
export interface EmulatorServices {
  readonly clock: EmulatorClock;
  readonly store: Store;
  readonly faults: FaultInjector;
  readonly limiter: Limiter;
  readonly requestLog: RequestLog;
  readonly authority: Authority;
  /** The seed in force (`POST /__emulator/seed` fills in what its body leaves out from it). */
  readonly options: { readonly seed: SeedOptions };
  /** The data centre this emulator stands for, if it was given one. */
  readonly dataCentre: DataCentre | undefined;
  info(origin: string): EmulatorInfo;
  /** Every account, the default one first. */
  accounts(): AccountInfo[];
  /**
   * Creates an account with its organizations, demo contacts, self-client and refresh token, in
   * one transaction. The spec is checked first (parseAccountSpec): a bad one, or one past
   * MAX_ACCOUNTS, throws AccountSpecError and creates nothing. A reset or reseed removes it.
   */
  createAccount(spec: AccountSpec): AccountInfo;
  /** Wipes all data and seeds again (the seed in force unless another is given). */
  reseed(seed?: Partial<SeedOptions>): void;
  /** Back to the start-up seed: data, faults, request log and counters. The clock keeps its time. */
  reset(): void;
}

/** What the admin API's handlers see (`/__emulator/...`). */
export interface AdminContext {
  emulator: EmulatorServices;
  req: EmulatorRequest;
  /** How the caller reached the emulator (the addresses `info` names). */
  origin: string;
}

export interface AdminRoute {
  handler: (ctx: AdminContext) => HandlerResult;
}

/** A list's `page_context`. */
export function pageContext(
  page: number,
  perPage: number,
  hasMore: boolean,
  appliedFilter: string,
  sortColumn: string,
  sortOrder: 'A' | 'D',
): Record<string, unknown> {
  return { page, per_page: perPage, has_more_page: hasMore, applied_filter: appliedFilter, sort_column: sortColumn, sort_order: sortOrder };
}
