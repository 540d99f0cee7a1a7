/**
 * The Zoho Books client: `createZohoBooksClient(options)`. Everything stateful (token cache,
 * per-organization limiters) lives on the instance; nothing is module-level.
 *
 *   const client = createZohoBooksClient({ dataCentre: 'EU', credentials: { clientId, clientSecret, refreshToken } });
 *   const orgs = await client.organizations.list();
 *   const books = client.org(orgs[0].organization_id);
 *   for await (const contact of books.contacts.list({ filterBy: 'Status.Active' })) { ... }
 *   await books.contacts.markInactive(contact.contact_id);   // { outcome: 'changed' | 'unchanged' }
 */
import { TRANSACTION_TYPE_NAMES, type TransactionType } from '../zoho/index.js';
import { createTokenManager, exchangeGrantCode, revokeToken, type GrantExchange, type TokenManager } from './auth.js';
import { systemClock } from './clock.js';
import { ConfigurationError } from './errors.js';
import { createLimiter, type Limiter, type OrganizationLimitState } from './limiter.js';
import { resolveOptions, type ResolvedZohoClientOptions, type ZohoClientOptions } from './options.js';
import {
  createRequester, createTransport, withAuth, withLimiter, withRetry, type Requester, type RequestSpec,
} from './request.js';
import { createContactsResource, type ContactsResource } from './resources/contacts.js';
import { createOrganizationsResource, type OrganizationsResource } from './resources/organizations.js';
import { createTransactionsResource, type TransactionsResource } from './resources/transactions.js';

/** Everything that is per organization. */
export interface OrganizationClient {
  readonly organizationId: string;
  readonly contacts: ContactsResource;
  readonly invoices: TransactionsResource;
  readonly salesOrders: TransactionsResource;
  readonly estimates: TransactionsResource;
  readonly creditNotes: TransactionsResource;
  readonly customerPayments: TransactionsResource;
  readonly salesReceipts: TransactionsResource;
  readonly bills: TransactionsResource;
  readonly purchaseOrders: TransactionsResource;
  readonly vendorPayments: TransactionsResource;
  readonly vendorCredits: TransactionsResource;
  transactions(type: TransactionType): TransactionsResource;
  /** The limiter's view of this organization (quota left, in flight, window use). */
  limits(): OrganizationLimitState;
}

export interface ZohoBooksClient {
  readonly options: Readonly<ResolvedZohoClientOptions>;
  readonly organizations: OrganizationsResource;
  /** The client for one organization (the default one when no id is given). */
  organization(organizationId?: string): OrganizationClient;
  /** A raw call through the same auth, limits and retries. */
  request<T>(spec: RequestSpec): Promise<T>;
  /** The Books base URL in use (it follows the token's `api_domain` when allowed). */
  baseUrl(): string;
}

export function createZohoBooksClient(options: ZohoClientOptions): ZohoBooksClient {
  const resolved = resolveOptions(options);
  const tokens: TokenManager = createTokenManager({
    credentials: resolved.credentials,
    accountsUrl: resolved.accountsUrl,
    store: resolved.tokenStore,
    fetch: resolved.fetch,
    clock: resolved.clock,
    random: resolved.random,
    hooks: resolved.hooks,
    timeoutMs: resolved.timeoutMs,
  });
  const baseUrl = (): string => {
    const domain = resolved.followApiDomain ? tokens.apiDomain() : undefined;
    return domain ? `${domain.replace(/\/+$/, '')}/books/v3` : resolved.baseUrl;
  };
  const limiter: Limiter = (resolved.limiter ?? createLimiter)(resolved.limits, resolved.clock);
  const transport = createTransport({ fetch: resolved.fetch, clock: resolved.clock, timeoutMs: resolved.timeoutMs, baseUrl, hooks: resolved.hooks });
  const send = withRetry(withLimiter(withAuth(transport, tokens), limiter, resolved.clock, resolved.hooks), resolved.retry, resolved.clock, resolved.random, resolved.hooks);
  const requester: Requester = createRequester(send, baseUrl, resolved.clock);
  const organizationClients = new Map<string, OrganizationClient>();

  const organization = (organizationId = resolved.organizationId): OrganizationClient => {
    if (organizationId === undefined) {
      throw new ConfigurationError('No organization: pass an organization id (client.org("10234695")) or set organizationId in the options. client.organizations.list() shows them.');
    }
    let found = organizationClients.get(organizationId);
    if (!found) {
      const tx = Object.fromEntries(TRANSACTION_TYPE_NAMES.map((type) => [type, createTransactionsResource(requester, organizationId, type)])) as Record<TransactionType, TransactionsResource>;
      found = {
        organizationId,
        contacts: createContactsResource(requester, organizationId),
        invoices: tx.invoices,
        salesOrders: tx.salesorders,
        estimates: tx.estimates,
        creditNotes: tx.creditnotes,
        customerPayments: tx.customerpayments,
        salesReceipts: tx.salesreceipts,
        bills: tx.bills,
        purchaseOrders: tx.purchaseorders,
        vendorPayments: tx.vendorpayments,
        vendorCredits: tx.vendorcredits,
        transactions: (type) => tx[type],
        limits: () => limiter.state(organizationId),
      };
      organizationClients.set(organizationId, found);
    }
    return found;
  };

  return {
    options: resolved,
    organizations: createOrganizationsResource(requester, limiter),
    organization,
    request: (spec) => requester.request(spec),
    baseUrl,
  };
}

export interface ExchangeCodeOptions {
  accountsUrl: string;
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Exchanges a self-client (or authorization) code at the accounts server for a refresh token. */
export function exchangeCode(options: ExchangeCodeOptions): Promise<GrantExchange> {
  return exchangeGrantCode(
    { accountsUrl: options.accountsUrl, fetch: options.fetch ?? globalThis.fetch, clock: systemClock, random: Math.random, timeoutMs: options.timeoutMs ?? 30_000 },
    options,
  );
}

/** Revokes a refresh token. */
export function revokeRefreshToken(options: { accountsUrl: string; token: string; fetch?: typeof fetch; timeoutMs?: number }): Promise<boolean> {
  return revokeToken(
    { accountsUrl: options.accountsUrl, fetch: options.fetch ?? globalThis.fetch, clock: systemClock, random: Math.random, timeoutMs: options.timeoutMs ?? 30_000 },
    options.token,
  );
}
