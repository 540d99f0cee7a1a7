/**
 * The service's API, typed from the routes themselves: hono's client over `ServiceApp` (the app's
 * type), so a path, a parameter or an input the service does not take fails to compile, and each
 * answer is checked against its shape in src/service/api-types.ts (the return types below).
 *
 * Every call goes through `send` and `call`: JSON in and out; state changes carry X-CSRF-Token
 * (a 403 re-reads the session once, the token may have changed, and tries again); a 401 sends the
 * browser to the sign-in page; an error goes to the banner unless the caller shows it itself
 * (`expect` lists its statuses, or `silent`).
 */
import { hc } from 'hono/client';
import type { ServiceApp } from '../../app.js';
import type {
  AccessInput, ActionView, AuditRow, CronAnswer, InviteCreated, InviteInput, UserListItem, ErrorBody, JobStarted, OrganizationView, PlanDetail, PlanRows, PolicySaved, RunDetail, RunListItem, RunStarted, ScheduleInput,
  SessionView, VerifyStarted, WebhookEventView, WebhookInput, WebhookSaved,
  NotificationSubscriptionCreated, NotificationSubscriptionInput, NotificationSubscriptionView, NotificationView,
} from '../../api-types.js';
import type { ConnectionInput, ConnectionsView, ConnectionTested, ConnectionView } from '../../api-types.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body: ErrorBody | null = null) {
    super(message);
  }
}

export interface CallOptions {
  /** Statuses the caller shows itself: no banner for them. */
  expect?: readonly number[];
  /** No banner at all. */
  silent?: boolean;
}

export interface Api {
  /** Who is signed in and the token state changes carry (empty until the session is read). */
  readonly session: Readonly<SessionView>;
  /** Reads the session (at start, after a 403, before the live events reconnect). */
  refreshSession(): Promise<SessionView>;
  organizations(o?: CallOptions): Promise<OrganizationView[]>;
  scan(organization: string): Promise<JobStarted>;
  savePolicy(organization: string, text: string, o?: CallOptions): Promise<PolicySaved>;
  saveSchedule(organization: string, input: ScheduleInput, o?: CallOptions): Promise<OrganizationView>;
  saveWebhook(organization: string, input: WebhookInput, o?: CallOptions): Promise<WebhookSaved>;
  /** What the schedule's parser makes of `expr`, in `organization`'s time zone. */
  cron(expr: string, organization: string, o?: CallOptions): Promise<CronAnswer>;
  plan(planId: string, o?: CallOptions): Promise<PlanDetail>;
  planRows(planId: string, o?: CallOptions): Promise<PlanRows>;
  approve(planId: string, exclude: string[]): Promise<RunStarted>;
  runs(organization: string, o?: CallOptions): Promise<RunListItem[]>;
  run(runId: string, o?: CallOptions): Promise<RunDetail>;
  undo(runId: string): Promise<RunStarted>;
  resume(runId: string): Promise<RunStarted>;
  stop(runId: string): Promise<RunStarted>;
  verify(runId: string, o?: CallOptions): Promise<VerifyStarted>;
  audit(organization: string): Promise<AuditRow[]>;
  /** The audit trail as CSV, for a download link. */
  auditCsvHref(organization: string): string;
  webhooks(organization: string): Promise<WebhookEventView[]>;
  /** Groups an organization under a client ('' : under none); admins. */
  setClient(organization: string, client: string, o?: CallOptions): Promise<OrganizationView>;
  /** The people (admins). */
  users(o?: CallOptions): Promise<UserListItem[]>;
  invite(input: InviteInput, o?: CallOptions): Promise<InviteCreated>;
  setAccess(username: string, input: AccessInput, o?: CallOptions): Promise<UserListItem>;
  removeUser(username: string, o?: CallOptions): Promise<void>;
  unlockUser(username: string): Promise<UserListItem>;
  /** Who did what, newest first ('' : everything the user may see). */
  actions(organization: string, o?: CallOptions): Promise<ActionView[]>;
  connections(o?: CallOptions): Promise<ConnectionsView>;
  addConnection(input: ConnectionInput, o?: CallOptions): Promise<ConnectionView>;
  testConnection(name: string, o?: CallOptions): Promise<ConnectionTested>;
  removeConnection(name: string, o?: CallOptions): Promise<{ removed: string }>;
  /** The signed-in user's notification subscriptions, and what they do with them. */
  subscriptions(): Promise<NotificationSubscriptionView[]>;
  subscribe(input: NotificationSubscriptionInput, o?: CallOptions): Promise<NotificationSubscriptionCreated>;
  unsubscribe(subscriptionId: string): Promise<{ deleted: string }>;
  testSubscription(subscriptionId: string): Promise<NotificationView>;
  /** The signed-in user's notices, newest first. */
  outbox(): Promise<NotificationView[]>;
  /** Ends the session (whatever the answer, the sign-in page follows). */
  logout(): Promise<void>;
}

export interface ApiOptions {
  /** Shows an error in the banner. */
  showError(message: string): void;
  /** The session is gone (401): go to the sign-in page. */
  signedOut(): void;
  /** A session was read: the page shows who it is and the logout form carries its token. */
  sessionRead(session: SessionView): void;
}

/** What `call` reads of an answer (a hono ClientResponse is one). */
interface Reply {
  ok: boolean;
  status: number;
  statusText: string;
  headers: Headers;
  json(): Promise<unknown>;
  text(): Promise<string>;
}
type Answer<R extends Reply> = Awaited<ReturnType<R['json']>>;

/** A path segment: ids are sent as they are, encoded (hono's client puts parameters in the path verbatim). */
const seg = (id: string): string => encodeURIComponent(id);

export function createApi(options: ApiOptions): Api {
  const session: SessionView = { user: '', csrfToken: '', role: 'viewer', clients: null };
  /** The first session read: state changes wait for it (GETs go out at once). */
  let ready: Promise<SessionView> | null = null;
  /** "METHOD /path" of each answer, for the banner. */
  const sent = new WeakMap<object, string>();

  const send = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const method = (init.method ?? 'GET').toUpperCase();
    const changes = method !== 'GET' && method !== 'HEAD';
    if (changes && !session.csrfToken) await ready?.catch(() => undefined);
    const attempt = (): Promise<Response> => {
      const headers = new Headers(init.headers);
      headers.set('Accept', 'application/json');
      if (changes) {
        headers.set('X-CSRF-Token', session.csrfToken);
        if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
      }
      // 'same-origin' so that the Origin header is the page's own (a no-referrer policy makes it "null").
      return fetch(input, { ...init, method, headers, credentials: 'same-origin', referrerPolicy: 'same-origin' });
    };
    let res = await attempt();
    if (res.status === 403 && changes) {
      const before = session.csrfToken;
      await refreshSession();
      if (session.csrfToken !== before) res = await attempt();
    }
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    sent.set(res, `${method} ${url.pathname}`);
    return res;
  };

  const client = hc<ServiceApp>(location.origin, { fetch: send });

  const signedOut = (): never => {
    options.signedOut();
    throw new ApiError(401, 'Signed out');
  };

  async function call<R extends Reply>(request: Promise<R>, o: CallOptions = {}): Promise<Answer<R>> {
    let res: R;
    try {
      res = await request;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const message = `Could not reach the Sunset server (${error instanceof Error ? error.message : String(error)}).`;
      if (!o.silent) options.showError(message);
      throw new ApiError(0, message);
    }
    if (res.status === 401) signedOut();
    if (res.ok) return (await res.json()) as Answer<R>; // no intermediate string for large documents (a plan's rows)
    const text = await res.text();
    let body: ErrorBody | null = null;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && typeof (parsed as ErrorBody).error === 'string') body = parsed as ErrorBody;
    } catch {
      // not JSON: the status says it
    }
    const detail = body?.error ?? `HTTP ${res.status} ${res.statusText}`.trim();
    if (!o.silent && !o.expect?.includes(res.status)) options.showError(`${sent.get(res) ?? 'request'}: ${detail}`);
    throw new ApiError(res.status, detail, body);
  }

  async function refreshSession(): Promise<SessionView> {
    const res = await client.api.session.$get();
    if (res.status === 401) signedOut();
    if (!res.ok) throw new ApiError(res.status, `Could not read the session (HTTP ${res.status})`);
    const data = await res.json();
    session.user = data.user;
    session.csrfToken = data.csrfToken;
    session.role = data.role;
    session.clients = data.clients;
    options.sessionRead(session);
    return session;
  }

  const organization = (id: string) => ({ param: { org: seg(id) } });
  const plan = (id: string) => ({ param: { plan: seg(id) } });
  const run = (id: string) => ({ param: { run: seg(id) } });
  /** `?org=` when one is chosen. */
  const byOrganization = (id: string) => ({ query: id ? { org: id } : {} });

  return {
    session,
    refreshSession() {
      const read = refreshSession();
      ready ??= read;
      return read;
    },
    organizations: (o) => call(client.api.orgs.$get(), o),
    scan: (id) => call(client.api.orgs[':org'].scan.$post(organization(id))),
    savePolicy: (id, text, o) => call(client.api.orgs[':org'].policy.$put({ ...organization(id), json: { text } }), o),
    saveSchedule: (id, input, o) => call(client.api.orgs[':org'].schedule.$put({ ...organization(id), json: input }), o),
    saveWebhook: (id, input, o) => call(client.api.orgs[':org'].webhook.$put({ ...organization(id), json: input }), o),
    cron: (expr, id, o) => call(client.api.cron.$get({ query: { expr, org: id } }), o),
    plan: (id, o) => call(client.api.plans[':plan'].$get(plan(id)), o),
    planRows: (id, o) => call(client.api.plans[':plan'].rows.$get(plan(id)), o),
    approve: (id, exclude) => call(client.api.plans[':plan'].approve.$post({ ...plan(id), json: { exclude } })),
    runs: (id, o) => call(client.api.runs.$get(byOrganization(id)), o),
    run: (id, o) => call(client.api.runs[':run'].$get(run(id)), o),
    undo: (id) => call(client.api.runs[':run'].undo.$post(run(id))),
    resume: (id) => call(client.api.runs[':run'].resume.$post(run(id))),
    stop: (id) => call(client.api.runs[':run'].stop.$post(run(id))),
    verify: (id, o) => call(client.api.runs[':run'].verify.$post(run(id)), o),
    // The route answers CSV for format=csv, so its answer type is a union; format=json is AuditRow[].
    audit: (id) => call(client.api.audit.$get({ query: { format: 'json', ...(id ? { org: id } : {}) } })) as Promise<AuditRow[]>,
    auditCsvHref(id) {
      const url = client.api.audit.$url({ query: { format: 'csv', ...(id ? { org: id } : {}) } });
      return `${url.pathname}${url.search}`;
    },
    webhooks: (id) => call(client.api.webhooks.$get(byOrganization(id))),
    setClient: (id, name, o) => call(client.api.orgs[':org'].client.$put({ ...organization(id), json: { client: name || null } }), o),
    users: (o) => call(client.api.users.$get(), o),
    invite: (input, o) => call(client.api.users.$post({ json: input }), o),
    setAccess: (name, input, o) => call(client.api.users[':name'].$put({ param: { name: seg(name) }, json: input }), o),
    async removeUser(name, o) {
      const res = await send(client.api.users[':name'].$url({ param: { name: seg(name) } }), { method: 'DELETE' });
      if (res.status !== 204) await call(Promise.resolve(res), o);
    },
    unlockUser: (name) => call(client.api.users[':name'].unlock.$post({ param: { name: seg(name) } })),
    actions: (id, o) => call(client.api.actions.$get(byOrganization(id)), o),
    connections: (o) => call(client.api.connections.$get(), o),
    addConnection: (input, o) => call(client.api.connections.$post({ json: input }), o),
    testConnection: (name, o) => call(client.api.connections[':name'].test.$post({ param: { name: seg(name) } }), o),
    removeConnection: (name, o) => call(client.api.connections[':name'].$delete({ param: { name: seg(name) } }), o),
    subscriptions: () => call(client.api.notifications.subscriptions.$get()),
    subscribe: (input, o) => call(client.api.notifications.subscriptions.$post({ json: input }), o),
    unsubscribe: (id) => call(client.api.notifications.subscriptions[':id'].$delete({ param: { id: seg(id) } })),
    testSubscription: (id) => call(client.api.notifications.subscriptions[':id'].test.$post({ param: { id: seg(id) } })),
    outbox: () => call(client.api.notifications.outbox.$get()),
    async logout() {
      try {
        await fetch('/logout', {
          method: 'POST',
          credentials: 'same-origin',
          referrerPolicy: 'same-origin',
          headers: { 'X-CSRF-Token': session.csrfToken, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrf: session.csrfToken }),
        });
      } catch {
        // signed out or not, the sign-in page follows
      }
    },
  };
}
