/**
 * The Zoho Books emulator: a stateful, in-process implementation of the Books API v3 contact
 * lifecycle and its accounts server. `createEmulator` builds one; `handle` answers a request; the
 * node:http server (`listen`) and the in-process `fetch` both go through `handle`.
 *
 * Request pipeline, in the order the live service checks (house style 6):
 * route (404 code 5 / 405 code 37) → token-expiry faults → authentication (14 / 57) → scope (57)
 * → organization (6024) → limits (45 / 44 / 1070) → latency, drop and status faults → handler
 * → drop-answer faults (the handler's work stands; the answer is dropped instead of sent).
 * The accounts server (`/oauth/v2`) meets faults, then its own routing; the admin API
 * (`/__emulator`) skips the pipeline. All three APIs route and answer the same way (api.ts).
 */
import { performance } from 'node:perf_hooks';
import {
  BOOKS_API_PATH, DATA_CENTRES, formatZohoDate, isDataCentre, isOrganizationId, scopeSatisfied, ZohoCode, type DataCentre,
} from '../zoho/index.js';
import {
  accountCredentials, accountDataSeed, accountIdFor, accountOrganizationIds, AccountSpecError, identitySeed, MAX_ACCOUNTS,
  parseAccountSpec, resolveAccount, utcOffsetMinutes, type AccountCredentials, type AccountInfo, type AccountSpec,
} from './accounts.js';
import { createApi, jsonReply, renderError } from './api.js';
import { createAuthority, ALL_SCOPES } from './auth.js';
import { parseJsonBody } from './body.js';
import { createEmulatorClock, type ClockState } from './clock.js';
import type { AccountContext, BooksRoute, EmulatorServices, HandlerResult, OrganizationContext } from './context.js';
import { createFaultInjector, type FaultDecision, type FaultRuleInput } from './faults.js';
import { ZohoHttpError, invalidValue } from './http-error.js';
import { createLimiter, type LimitSettings } from './limits.js';
import { createRequestLog } from './request-log.js';
import { adminApi, ADMIN_PATH } from './routes/admin.js';
import { contactRoutes } from './routes/contacts.js';
import { oauthApi, OAuthError, OAUTH_PATH } from './routes/oauth.js';
import { organizationRoutes } from './routes/organizations.js';
import { transactionRoutes } from './routes/transactions.js';
import { DEMO_ORGANIZATIONS, organizationIds, seedDemo } from './seed/demo.js';
import { createStore } from './store/store.js';
import type { OrganizationRow } from './store/rows.js';
import type { EmulatorInfo, EmulatorRequest, EmulatorResponse, SeedName, SeedOptions } from './types.js';

export interface EmulatorOptions {
  /** SQLite file; in memory when absent. An existing file keeps its data (and is not re-seeded). */
  db?: string;
  seed?: SeedName;
  randomSeed?: number;
  contacts?: number;
  /** Access-token lifetime in seconds (default 3600). */
  tokenTtlSeconds?: number;
  /** `false` turns the limits off; an object overrides them. */
  limits?: boolean | Partial<LimitSettings>;
  faults?: FaultRuleInput[];
  /** Start the emulated clock at this instant (epoch ms) instead of real time. */
  startAt?: number;
  /** The real clock under the emulated one (tests may inject it). */
  realNow?: () => number;
  /** Requests kept in the request log (default 100,000). */
  requestLogSize?: number;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Processing time added to every Books request, in ms (makes the in-flight limit observable). */
  baseLatencyMs?: number;
  /**
   * Accounts besides the default one, each with its own organizations, self-client and refresh
   * token (`{}` is an account with two generated organizations). Part of the seed: a reset makes
   * them again, the same. Ignored for an existing `db` file, which keeps its own.
   */
  accounts?: AccountSpec[];
  /**
   * The data centre this emulator stands for (one process is one data centre). Reported in info;
   * mixed into every id and credential, so two data centres never share one. Absent: none, as before.
   */
  dataCentre?: DataCentre;
}

export interface ResolvedEmulatorOptions {
  db: string | undefined;
  seed: SeedOptions;
  tokenTtlSeconds: number;
  requestLogSize: number;
  maxBodyBytes: number;
  baseLatencyMs: number;
  dataCentre: DataCentre | undefined;
}

/** An emulator: its parts and seeding hooks (what the admin API drives), and the pipeline that answers requests. */
export interface Emulator extends EmulatorServices {
  /** Answers one request. `origin` is how the caller reached the emulator (`http://127.0.0.1:PORT`). */
  handle(req: EmulatorRequest, origin: string): Promise<EmulatorResponse>;
  readonly options: ResolvedEmulatorOptions;
  /** Persists the clock (when the store is a file) and closes the database. */
  close(): void;
}

/** The parts of a request-log entry the fault pipeline fills in. */
interface FaultEntry {
  fault: string | null;
  /** A drop-answer fault fired: the request is handled, then its answer dropped. */
  answer_dropped: boolean;
}

/**
 * The default account's ready-made client and refresh token, derived from the random seed (and the
 * data centre, when one is named) so they survive a reset.
 */
export function defaultCredentials(randomSeed: number, dataCentre?: DataCentre): AccountCredentials {
  return accountCredentials(identitySeed(randomSeed, dataCentre), 0);
}

const DEFAULT_ACCOUNT_NAME = 'Sunset Emulator';

/** Waits at least `ms` by performance.now() (a timer may fire a fraction of a millisecond early). */
async function sleep(ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
}

export function createEmulator(options: EmulatorOptions = {}): Emulator {
  // Options are checked before the database is opened, so a bad one creates no file.
  if (options.dataCentre !== undefined && !isDataCentre(options.dataCentre)) {
    throw new Error(`dataCentre must be one of ${Object.keys(DATA_CENTRES).join(', ')} (got ${JSON.stringify(options.dataCentre)})`);
  }
  if (options.accounts !== undefined && !Array.isArray(options.accounts)) throw new AccountSpecError('accounts must be an array of account specs');
  const accountSpecs = (options.accounts ?? []).map((spec, i) => parseAccountSpec(spec, `accounts[${i}].`));
  if (accountSpecs.length >= MAX_ACCOUNTS) throw new AccountSpecError(`accounts: at most ${MAX_ACCOUNTS - 1} besides the default one`);
  const resolved: ResolvedEmulatorOptions = {
    db: options.db,
    seed: {
      seed: options.seed ?? 'demo',
      randomSeed: options.randomSeed ?? 42,
      contacts: options.contacts ?? 1000,
      ...(accountSpecs.length > 0 ? { accounts: accountSpecs } : {}),
    },
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    requestLogSize: options.requestLogSize ?? 100_000,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    baseLatencyMs: options.baseLatencyMs ?? 0,
    dataCentre: options.dataCentre,
  };
  const store = createStore(options.db);
  // A file keeps the data centre it was made for: its ids and credentials derive from it.
  if (!store.isEmpty()) {
    const stored = store.getMeta('data_centre');
    const existing = stored !== undefined && isDataCentre(stored) ? stored : undefined;
    if (options.dataCentre !== undefined && options.dataCentre !== existing) {
      store.close();
      throw new Error(
        `The emulator database ${options.db} stands for ${existing ? `data centre ${existing}` : 'no data centre'}; ` +
          `start it ${existing ? `with --dc ${existing}` : 'without --dc'}, or use another --db file.`,
      );
    }
    resolved.dataCentre = existing;
  }
  const dataCentre = resolved.dataCentre;
  const storedClock = store.getMeta('clock');
  const clock = createEmulatorClock({
    realNow: options.realNow,
    state: storedClock ? (JSON.parse(storedClock) as ClockState) : undefined,
    startAt: storedClock ? undefined : options.startAt,
  });
  const storedSeed = store.getMeta('seed');
  if (storedSeed) resolved.seed = JSON.parse(storedSeed) as SeedOptions;
  const authority = createAuthority(store, resolved.tokenTtlSeconds);
  const limitSettings: LimitSettings =
    options.limits === false ? { enabled: false } : { enabled: true, ...(typeof options.limits === 'object' ? options.limits : {}) };
  const limiter = createLimiter(limitSettings);
  const faults = createFaultInjector(resolved.seed.randomSeed ^ 0xfa17);
  if (options.faults) faults.add(options.faults);
  const requestLog = createRequestLog(resolved.requestLogSize);

  // The three APIs, each a router of its routes and its own way of refusing (api.ts).
  const books = createApi<BooksRoute>({
    prefix: BOOKS_API_PATH,
    routes: [...organizationRoutes, ...contactRoutes, ...transactionRoutes],
    notFound: () => new ZohoHttpError(ZohoCode.INVALID_URL),
    methodNotAllowed: (_method, _path, allowed) => new ZohoHttpError(ZohoCode.METHOD_NOT_ALLOWED, { headers: { allow: allowed.join(', ') } }),
  });
  const oauth = createApi(oauthApi);
  const admin = createApi(adminApi);

  let accessToken = '';

  /** Creates the account at the next position (1 and up), with its organizations, contacts and ready-made credentials. */
  const addAccount = (spec: AccountSpec, seed: SeedOptions, bulk: boolean): AccountInfo => {
    const position = store.accounts.list().length;
    if (position >= MAX_ACCOUNTS) throw new AccountSpecError(`the emulator already holds ${MAX_ACCOUNTS} accounts, its most`);
    const defaultContacts = seed.seed === 'empty' ? 0 : Math.max(10, Math.round(seed.contacts * 0.2));
    const account = resolveAccount(spec, seed.randomSeed, position, defaultContacts);
    const identity = identitySeed(seed.randomSeed, dataCentre);
    const accountId = accountIdFor(identity, position);
    const creds = accountCredentials(identity, position);
    const ids = accountOrganizationIds(identity, position, account.organizations.length, (id) => store.organizations.get(id) !== undefined);
    const firstPosition = Math.max(-1, ...store.organizations.list().map((o) => o.position)) + 1;
    const now = clock.now();
    store.tx(() => {
      store.accounts.insert({ account_id: accountId, name: account.name, client_id: creds.clientId, refresh_token: creds.refreshToken, position, created_ms: now });
      seedDemo(store, {
        randomSeed: accountDataSeed(seed.randomSeed, position),
        accountId,
        organizationIds: ids,
        firstPosition,
        organizations: account.organizations.map((o) => ({
          name: o.name,
          plan: o.plan,
          currency_code: o.currency_code,
          time_zone: o.time_zone,
          utc_offset_minutes: utcOffsetMinutes(o.time_zone, now),
          share: 0,
          contacts: o.contacts,
        })),
        contacts: 0,
        now,
        bulk,
      });
      authority.createClient({ clientId: creds.clientId, clientSecret: creds.clientSecret, name: `${account.name} self-client`, accountId });
      authority.createRefreshToken({ token: creds.refreshToken, clientId: creds.clientId, scopes: ALL_SCOPES, organizationIds: [] }, now);
    });
    const created = listAccounts().find((a) => a.account_id === accountId);
    if (!created) throw new Error(`account ${accountId} was not stored`);
    return created;
  };

  const listAccounts = (): AccountInfo[] =>
    store.accounts.list().map((row) => ({
      account_id: row.account_id,
      name: row.name,
      clientId: row.client_id,
      clientSecret: store.oauth.getClient(row.client_id)?.client_secret ?? '',
      refreshToken: row.refresh_token,
      organizations: store.organizations.forAccount(row.account_id).map((o) => ({
        organization_id: o.organization_id,
        name: o.name,
        plan: o.plan,
        currency_code: o.currency_code,
        time_zone: o.time_zone,
      })),
    }));

  const seedNow = (seed: SeedOptions): void => {
    store.wipe();
    const now = clock.now();
    const identity = identitySeed(seed.randomSeed, dataCentre);
    const creds = accountCredentials(identity, 0);
    const accountId = accountIdFor(identity, 0);
    store.accounts.insert({ account_id: accountId, name: DEFAULT_ACCOUNT_NAME, client_id: creds.clientId, refresh_token: creds.refreshToken, position: 0, created_ms: now });
    seedDemo(store, {
      randomSeed: seed.randomSeed,
      accountId,
      organizationIds: organizationIds(identity, DEMO_ORGANIZATIONS.length),
      contacts: seed.contacts,
      now,
      withContacts: seed.seed === 'demo',
    });
    authority.createClient({ clientId: creds.clientId, clientSecret: creds.clientSecret, name: 'Sunset emulator self-client', accountId });
    authority.createRefreshToken({ token: creds.refreshToken, clientId: creds.clientId, scopes: ALL_SCOPES, organizationIds: [] }, now);
    for (const spec of seed.accounts ?? []) addAccount(spec, seed, true);
    store.setMeta('seed', JSON.stringify(seed));
    store.setMeta('data_centre', dataCentre ?? '');
    resolved.seed = seed;
  };
  if (store.isEmpty()) seedNow(resolved.seed);
  else if (store.accounts.list().length === 0) {
    // A file from before accounts: its organizations and clients are the default account's.
    const identity = identitySeed(resolved.seed.randomSeed, dataCentre);
    const creds = accountCredentials(identity, 0);
    const accountId = accountIdFor(identity, 0);
    store.tx(() => {
      store.accounts.insert({ account_id: accountId, name: DEFAULT_ACCOUNT_NAME, client_id: creds.clientId, refresh_token: creds.refreshToken, position: 0, created_ms: clock.now() });
      store.accounts.adoptUnassigned(accountId);
    });
    store.organizations.invalidate();
    store.oauth.forget();
  }
  /** What `reset` goes back to: the seed this emulator started with. */
  const startupSeed: SeedOptions = { ...resolved.seed };
  const mintReadyToken = (): void => {
    accessToken = authority.mintAccessToken(defaultCredentials(resolved.seed.randomSeed, dataCentre).refreshToken, clock.now()) ?? '';
  };
  mintReadyToken();

  /** What a token reaches: its account's organizations, within its grant. */
  const organizationsFor = (token: { accountId: string; organizationIds: string[] }): OrganizationRow[] => {
    const own = store.organizations.forAccount(token.accountId);
    return token.organizationIds.length === 0 ? own : own.filter((o) => token.organizationIds.includes(o.organization_id));
  };

  const emulator: Emulator = {
    clock,
    store,
    faults,
    limiter,
    requestLog,
    authority,
    options: resolved,
    dataCentre,
    info(origin) {
      const creds = defaultCredentials(resolved.seed.randomSeed, dataCentre);
      const accounts = listAccounts();
      const defaultAccountId = accounts[0]?.account_id ?? '';
      const info: EmulatorInfo = {
        baseUrl: `${origin}${BOOKS_API_PATH}`,
        accountsUrl: origin,
        organizations: store.organizations.forAccount(defaultAccountId).map((o) => ({ organization_id: o.organization_id, name: o.name, plan: o.plan })),
        clientId: creds.clientId,
        clientSecret: creds.clientSecret,
        refreshToken: creds.refreshToken,
        accessToken,
      };
      if (dataCentre !== undefined) info.dataCentre = dataCentre;
      if (accounts.length > 1) info.accounts = accounts;
      return info;
    },
    accounts: listAccounts,
    createAccount: (spec) => addAccount(parseAccountSpec(spec), resolved.seed, false),
    reseed(seed) {
      seedNow({ ...resolved.seed, ...seed });
      authority.resetThrottle();
      limiter.reset();
      mintReadyToken();
    },
    reset() {
      emulator.reseed(startupSeed);
      faults.reset();
      requestLog.clear();
    },
    close() {
      try {
        store.setMeta('clock', JSON.stringify(clock.snapshot()));
      } finally {
        store.close();
      }
    },
    async handle(req, origin) {
      const started = performance.now();
      const rawPath = req.rawPath;
      if (rawPath.startsWith(`${ADMIN_PATH}/`) || rawPath === ADMIN_PATH) return answerAdmin(req, origin);
      let path: string;
      let segments: string[];
      try {
        segments = rawPath.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
        path = `/${segments.join('/')}`;
      } catch {
        segments = [];
        path = rawPath;
      }
      const entry = {
        method: req.method,
        path,
        query: req.query,
        organization_id: null as string | null,
        fault: null as string | null,
        answer_dropped: false,
      };
      let response: EmulatorResponse;
      try {
        // Checked before routing, so the accounts server's refusal comes without its no-store header.
        if (req.invalidQuery && path.startsWith('/oauth/')) throw new OAuthError(400, 'invalid_request');
        if (req.invalidQuery) throw invalidValue('query string', 'an escape is not valid UTF-8');
        response = await dispatch(req, path, segments, origin, entry);
      } catch (error) {
        // Thrown before an API took the request, or by Books (which adds no headers of its own).
        response = renderError(error);
      }
      // The log keeps the answer the request was handled with (so its effect shows) and says it was
      // dropped; a `drop` fault, which stops the request before handling, logs status 0.
      requestLog.add({
        timeMs: clock.now(),
        ...entry,
        status: response.drop ? 0 : response.status,
        code: zohoCodeOf(response),
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
      });
      return entry.answer_dropped ? { status: 0, headers: {}, body: '', drop: true } : response;
    },
  };

  /**
   * The admin API: matched on the raw path (only trailing slashes dropped), not logged, and never
   * limited or faulted.
   */
  function answerAdmin(req: EmulatorRequest, origin: string): EmulatorResponse {
    const path = req.rawPath.replace(/\/+$/, '');
    try {
      const { route } = admin.route(req.method, path.split('/').slice(1), path);
      return admin.reply(route.handler({ emulator, req, origin }));
    } catch (error) {
      return admin.error(error);
    }
  }

  /**
   * Latency, then a fault that answers instead of the handler. A drop-answer fault only marks the
   * entry: the handler runs, and `handle` drops the connection instead of sending its answer.
   */
  async function applyFaults(decision: FaultDecision, entry: FaultEntry): Promise<EmulatorResponse | undefined> {
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.dropAnswer) {
      entry.fault = decision.dropAnswer.ruleId;
      entry.answer_dropped = true;
      return undefined;
    }
    if (decision.drop) {
      entry.fault = decision.drop.ruleId;
      return { status: 0, headers: {}, body: '', drop: true };
    }
    if (decision.status) {
      entry.fault = decision.status.ruleId;
      const message = decision.status.status === 429 ? 'The organization has exceeded the maximum number of requests per minute.' : 'Internal error';
      return jsonReply(decision.status.status, { code: decision.status.code, message });
    }
    return undefined;
  }

  async function dispatch(
    req: EmulatorRequest,
    path: string,
    segments: string[],
    origin: string,
    entry: FaultEntry & { organization_id: string | null },
  ): Promise<EmulatorResponse> {
    if (path.startsWith(`${OAUTH_PATH}/`)) {
      // The accounts server meets faults before its routing (and has no authentication or limits).
      const faulted = await applyFaults(faults.decide(req.method, path, 'answer'), entry);
      if (faulted) return faulted;
      try {
        const { route } = oauth.route(req.method, segments, path);
        return oauth.reply(route.handler({ req, origin, now: clock.now(), authority }));
      } catch (error) {
        return oauth.error(error);
      }
    }
    const { route, params } = books.route(req.method, segments, path);
    const now = clock.now();

    // Authentication, then scope.
    const header = req.headers.authorization;
    const tokenFault = header ? faults.decide(req.method, path, 'token') : undefined;
    if (tokenFault?.expireToken && header) {
      entry.fault = tokenFault.expireToken.ruleId;
      authority.expire(header.slice(header.indexOf(' ') + 1).trim(), now);
    }
    const auth = authority.verify(header, now);
    if ('code' in auth) throw new ZohoHttpError(auth.code);
    const token = auth.token;
    if (!scopeSatisfied(token.scopes, route.scopes)) throw new ZohoHttpError(ZohoCode.UNAUTHORIZED);

    const organizations = organizationsFor(token);
    let bodyCache: Record<string, unknown> | undefined;
    // One context object per request, completed below once the organization is known.
    const ctx = {
      req,
      params,
      query: req.query,
      now,
      token,
      organizations,
      store,
      body: () => (bodyCache ??= parseJsonBody(req)),
      organization: undefined as OrganizationRow | undefined,
      today: '',
      actor: 'Sunset Emulator User',
    };
    if (route.level === 'account') {
      const faulted = await applyFaults(faults.decide(req.method, path, 'answer'), entry);
      if (faulted) return faulted;
      return books.reply(route.handler(ctx as AccountContext));
    }

    // Organization.
    const organizationParam = req.query.get('organization_id');
    let organization: OrganizationRow | undefined;
    const errorInfo = { error_info: organizations.map((o, i) => ({ organization_id: o.organization_id, name: o.name, is_default_org: i === 0 })) };
    if (organizationParam === null || organizationParam === '') {
      if (organizations.length === 1) organization = organizations[0];
      else {
        throw new ZohoHttpError(ZohoCode.INVALID_ORGANIZATION, {
          message: 'This user belongs to multiple organizations, hence the parameter organization_id is required.',
          extra: errorInfo,
        });
      }
    } else if (isOrganizationId(organizationParam)) {
      organization = organizations.find((o) => o.organization_id === organizationParam);
      // Another account's organization: refused as the live service refuses an organization the
      // user is not associated with (reference §5), without naming this account's organizations.
      const elsewhere = organization ? undefined : store.organizations.get(organizationParam);
      if (elsewhere && elsewhere.account_id !== token.accountId) throw new ZohoHttpError(ZohoCode.NOT_ASSOCIATED_ORGANIZATION);
    }
    if (!organization) throw new ZohoHttpError(ZohoCode.INVALID_ORGANIZATION, { extra: errorInfo });
    entry.organization_id = organization.organization_id;

    // Limits.
    const admission = limiter.admit(organization, now);
    if (!admission.ok) throw new ZohoHttpError(admission.code, { message: admission.message, headers: admission.headers });
    try {
      if (resolved.baseLatencyMs > 0) await sleep(resolved.baseLatencyMs);
      const faulted = await applyFaults(faults.decide(req.method, path, 'answer'), entry);
      if (faulted) return { ...faulted, headers: { ...faulted.headers, ...admission.headers } };
      ctx.organization = organization;
      ctx.today = formatZohoDate(now, organization.utc_offset_minutes);
      let result: HandlerResult;
      try {
        result = route.handler(ctx as OrganizationContext);
      } catch (error) {
        return books.error(error, admission.headers);
      }
      return books.reply(result, admission.headers);
    } finally {
      admission.release();
    }
  }

  return emulator;
}

function zohoCodeOf(response: EmulatorResponse): number | null {
  if (response.drop || !response.headers['content-type']?.startsWith('application/json')) return null;
  const match = /^\{"code":(-?\d+)/.exec(response.body);
  return match ? Number(match[1]) : null;
}
