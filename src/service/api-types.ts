/**
 * The shapes of the service's HTTP API (docs/service-api.md): what each route answers, what the
 * JSON routes take, and what the event stream sends. One module, so the routes (which answer
 * through these types: a route cannot answer another shape), the tests and the UI read the same
 * definitions instead of restating them. Types only: importing it costs nothing at run time.
 */
import type { ContactType } from '../zoho/index.js';
import type { Plan, PolicyProblem, RunCounts, RunKind, RunRecord, RunStatus, StepAction, StepRecord, VerifyResult } from '../engine/index.js';
import type { AuditDocumentRow } from '../engine/report/index.js';
import type { WebhookEvent, WebhookMapping, WebhookState } from './store.js';
import type { NotificationChannel, NotificationKind, OutboxEntry, Subscription } from './notification-store.js';
import type { TimeZone } from './time-zone.js';
import type { Role } from './access.js';

export type { Role };

/** Every refusal and failure: `{error}`, with `problems` (a policy) or `runId` (the run that exists) where they help. */
export interface ErrorBody {
  error: string;
  problems?: PolicyProblem[];
  runId?: string;
}

/** `GET /healthz`. */
export interface Health {
  ok: true;
}

/** `GET /api/session`: who is signed in, and the token state changes must carry (`X-CSRF-Token`). */
export interface SessionView {
  user: string;
  csrfToken: string;
  /** What the user may do (src/service/access.ts): the UI offers only that. */
  role: Role;
  /** The clients they are limited to; null: every client. */
  clients: string[] | null;
}

// ---------------------------------------------------------------------------------------------
// Organizations
// ---------------------------------------------------------------------------------------------

/** An organization's policy; before one is saved, `draft` is the starter policy with every default written out. */
export interface PolicyView {
  text: string;
  problems: PolicyProblem[];
  saved: boolean;
  draft?: string;
}

/**
 * An organization's time zone: `zone` (IANA) is where its schedule's cron is read; `zoho` is what
 * Zoho said (null: not learned yet); `problem` says why `zone` is UTC instead (null: it is not).
 */
export type TimeZoneView = TimeZone;

export interface ScheduleView {
  cron: string | null;
  autoApplyMax: number | null;
  /** The next run, in the organization's time zone (past when it is due now). */
  nextRunAt: number | null;
  /**
   * That run and the two after it (epoch ms; [] without a schedule, or for a date that never comes).
   * A run already due comes first (in the past); the service runs it at its next check, and the
   * others are those after now.
   */
  nextRuns: number[];
  /** When a scheduled scan last ran (null until one has); saving a schedule is not a run. */
  lastRunAt: number | null;
  description: string | null;
}

export interface WebhookSettingsView {
  mode: 'hmac' | 'secret' | null;
  configured: boolean;
  mapping: WebhookMapping;
  /** The `--crm-mapping` file the mapping comes from (read-only then), or null. */
  mappingFile: string | null;
}

export interface SnapshotSummary {
  snapshotId: string;
  takenAt: number;
  contactCount: number;
  apiCalls: number;
}

export interface LatestPlan {
  planId: string;
  asOf: number;
  steps: number;
  excluded: number;
  runId: string | null;
}

export interface QuotaSummary {
  remaining: number;
  limit?: number;
  resetAt?: number;
}

export interface ActiveJob {
  kind: 'scan' | 'apply' | 'verify';
  /** The run (apply, verify) or the job (scan). */
  id: string;
}

/** One entry of `GET /api/orgs` (and the answer of `PUT /api/orgs/ORG/schedule`). */
export interface OrganizationView {
  organizationId: string;
  name: string;
  plan: string;
  /** The client (the consultancy's customer) it is grouped under; null: none. */
  client: string | null;
  /** What the service reaches: `zoho:EU`, `emulator:URL`, `embedded`. */
  target: string;
  /** Where a contact of this organization opens in Zoho Books (append its id); null on an emulator. */
  contactUrl: string | null;
  /**
   * The connection it belongs to (`sunset connections`), when the service works through the
   * database's connections (absent when it runs on the one given at start: --credentials, --emulator).
   */
  connection?: string;
  /** With `connection`: why that connection could not list its organizations just now (they are shown as recorded); null: it answered. */
  connectionError?: string | null;
  policy: PolicyView;
  /** Where its schedule runs: the time zone Zoho gives the organization. */
  timeZone: TimeZoneView;
  schedule: ScheduleView;
  webhook: WebhookSettingsView;
  latestSnapshot: SnapshotSummary | null;
  latestPlan: LatestPlan | null;
  quota: QuotaSummary | null;
  activeJob: ActiveJob | null;
  /** Its latest run (of any kind), null: none yet. */
  lastRun: LastRun | null;
}

export interface LastRun {
  runId: string;
  kind: RunKind;
  status: RunStatus;
  createdAt: number;
  createdBy: string;
}

/** `PUT /api/orgs/ORG/client` (admin): groups the organization under a client (null or '': under none); answers the OrganizationView. */
export interface ClientInput {
  client: string | null;
}

/** `GET /api/users` (admin): each user, never a hash. */
export interface UserListItem {
  username: string;
  role: Role;
  /** The clients they are limited to; null: every client. */
  clients: string[] | null;
  createdAt: number;
  /** Invited and not signed up yet: until when the link works. */
  invitedUntil: number | null;
  /** Sign-in is slowed or locked after failed attempts (`sunset users unlock` ends it). */
  signIn: 'open' | 'slowed' | 'locked';
}

/** `POST /api/users` (admin) invites a user... */
export interface InviteInput {
  username: string;
  role: Role;
  clients?: string[] | null;
}
/** ...and answers the link the person sets their password at (shown once; it works for 7 days, once). */
export interface InviteCreated {
  user: UserListItem;
  inviteUrl: string;
  expiresAt: number;
}

/** `PUT /api/users/NAME` (admin): a new role and clients; answers the UserListItem. */
export interface AccessInput {
  role: Role;
  clients?: string[] | null;
}

/** `GET /api/actions[?org=ORG]`: who did what (approvals, exclusions, undo, settings, clients, users, connections), newest first. */
export interface ActionView {
  at: number;
  who: string;
  action: string;
  organizationId: string | null;
  subject: string | null;
  detail: Record<string, unknown>;
}

/** `PUT /api/orgs/ORG/policy` takes... */
export interface PolicyInput {
  text: string;
}
/** ...and answers (an unusable policy is a 400 ErrorBody with its problems, nothing saved). */
export interface PolicySaved {
  policy: PolicyView;
}

/** `PUT /api/orgs/ORG/schedule` takes this and answers the OrganizationView. */
export interface ScheduleInput {
  /** Five fields, in the organization's time zone; null (or empty) clears the schedule. */
  cron?: string | null;
  autoApplyMax?: number | null;
}

/** `PUT /api/orgs/ORG/webhook` takes... */
export interface WebhookInput {
  mode?: 'hmac' | 'secret' | null;
  mapping?: WebhookMapping;
  rotateSecret?: boolean;
}
/** ...and answers; `secret` only in the answer that made it. */
export interface WebhookSaved {
  webhook: WebhookSettingsView;
  secret?: string;
}

/**
 * `GET /api/cron?expr=…[&org=ORG]`: what the schedule's parser makes of an expression, read in the
 * organization's time zone (`timeZone`, IANA; UTC without `org`).
 */
export type CronAnswer =
  | { valid: true; expression: string; description: string; next: number[]; timeZone: string }
  | { valid: false; error: string };

/** `POST /api/orgs/ORG/scan` (202): the job, followed on `GET /api/events`. */
export interface JobStarted {
  jobId: string;
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/** A plan without its steps and exclusions (those are in the rows document). */
export type PlanHeader = Omit<Plan, 'steps' | 'exclusionCount'>;

/** `GET /api/plans/PLAN`. */
export interface PlanDetail {
  plan: PlanHeader;
  runId: string | null;
  run: RunView | null;
  contactUrl: string | null;
}

export const PLAN_ROW_COLUMNS = [
  'contactId', 'contactName', 'contactType', 'effect', 'reasons', 'lastActivityDate', 'lastActivityType', 'receivable', 'payable', 'credits', 'createdTime', 'detail', 'lastActivity',
] as const;

/** One row of the review table, in PLAN_ROW_COLUMNS order. */
export type PlanRow = [
  contactId: string,
  contactName: string,
  contactType: ContactType,
  effect: StepAction | 'excluded',
  /** The rule (steps) or the `;`-joined exclusion reasons. */
  reasons: string,
  lastActivityDate: string | null,
  lastActivityType: string | null,
  receivable: number,
  payable: number,
  credits: number,
  createdTime: string,
  detail: string,
  /** The last activity in words, as every report says it. */
  lastActivity: string,
];

/** `GET /api/plans/PLAN/rows`: every step and exclusion in one compact document. */
export interface PlanRows {
  columns: typeof PLAN_ROW_COLUMNS;
  rows: PlanRow[];
}

/** `POST /api/plans/PLAN/approve` takes... */
export interface ApproveInput {
  /** Contact ids to leave out of the run. */
  exclude?: string[];
}

/** ...and answers (202), as undo and resume do: the run applied in the background. */
export interface RunStarted {
  runId: string;
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

/** A run with its state as people should read it, and whether this service applies it now. */
export interface RunView extends RunRecord {
  /** The state, except `interrupted` when it says running but no live process drives it. */
  status: RunStatus;
  /** This service has a job applying it (Stop reaches it). */
  applying: boolean;
}

/** An entry of `GET /api/runs`. */
export interface RunListItem {
  run: RunView;
  counts: RunCounts;
}

export interface Verification {
  verifiedAt: number;
  ok: boolean;
  result: VerifyResult;
}

/** `GET /api/runs/RUN`. */
export interface RunDetail {
  run: RunView;
  counts: RunCounts;
  steps: StepRecord[];
  verification: Verification | null;
  /** False for a run with no count from before it (CRM runs, `sunset contacts`, `--no-fingerprint`). */
  verifiable: boolean;
  contactUrl: string | null;
  /** The undo of this run, when there is one (a run has at most one undo): no second Undo is offered. */
  undoneBy: string | null;
}

/** `POST /api/runs/RUN/verify` (202). */
export interface VerifyStarted {
  jobId: string;
  runId: string;
}

// ---------------------------------------------------------------------------------------------
// Audit and webhooks
// ---------------------------------------------------------------------------------------------

/** `GET /api/audit?format=json`: the rows `sunset audit --format json` prints. */
export type AuditRow = AuditDocumentRow;

/** An entry of `GET /api/webhooks`. */
export type WebhookEventView = WebhookEvent;

/** `POST /hooks/crm/ORG`: 202 for a new event, 200 (`duplicate`) for one already received. */
export interface HookAccepted {
  eventId: string;
  state: WebhookState;
  duplicate?: true;
}

// ---------------------------------------------------------------------------------------------
// Live progress: `GET /api/events`
// ---------------------------------------------------------------------------------------------

/** `event: run`, while a run applies (and once when its job ends). */
export interface RunProgress {
  runId: string;
  organizationId: string;
  state: RunRecord['state'] | undefined;
  counts: RunCounts;
  phase?: 'revalidating' | 'applying' | 'waiting';
  ratePerMinute?: number;
  etaMs?: number;
  waitingUntil?: number;
  /** While the counts for verify are recorded. */
  message?: string;
  /** When the job stopped on an error. */
  error?: string;
}

/** `event: job`: a scan + plan or a verification. */
export interface JobProgress {
  jobId: string;
  organizationId: string;
  kind: 'scan' | 'verify';
  /** The run a verify job reads. */
  runId?: string;
  state: 'running' | 'done' | 'failed';
  message?: string;
  /** The plan a scan made (done). */
  planId?: string;
  /** A verification's verdict (done). */
  ok?: boolean;
}

/** `event: webhook`: a CRM event changed state. */
export interface WebhookProgress {
  eventId: string;
  organizationId: string;
  state: WebhookState;
}

/**
 * `event: review`: a scheduled scan made a plan that waits for review (the schedule does not
 * auto-apply, or the plan is over its cap). On a cluster the worker that made it says so (and
 * writes the plan.review notices); every `serve` hears it through the relay.
 */
export interface PlanReview {
  planId: string;
  organizationId: string;
  steps: number;
  excluded: number;
}

export type ServiceEvent =
  | { type: 'run'; data: RunProgress }
  | { type: 'job'; data: JobProgress }
  | { type: 'webhook'; data: WebhookProgress }
  | { type: 'review'; data: PlanReview };

/** A connection as the database keeps it (`sunset connections list`): never a secret. */
export interface StoredConnectionView {
  name: string;
  /** `zoho:EU`, `emulator:URL`. */
  target: string;
  /** US, EU, IN, AU, JP, CA, CN, SA...; null for an emulator's account. */
  dataCentre: string | null;
  /** The emulator's Books address, for an emulator's account. */
  baseUrl: string | null;
  /** The self-client's id, masked (its start and end). */
  clientId: string;
  scopes: string[];
  /** What it reached when it was added or last tested. */
  organizations: Array<{ organizationId: string; name: string; timeZone: string }>;
  createdAt: number;
  createdBy: string;
  testedAt: number | null;
  /** The last test's error (null: it worked, or it was never tested). */
  testError: string | null;
}

/** One entry of `GET /api/connections`. */
export interface ConnectionView extends StoredConnectionView {
  /** Why the service's latest listing of its organizations failed; null: it answered (or was not asked yet). */
  error: string | null;
}

/** `GET /api/connections`. */
export interface ConnectionsView {
  /** false: the service runs on one connection given at start (--credentials, --emulator, the embedded emulator), not the database's. */
  managed: boolean;
  connections: ConnectionView[];
}

/**
 * `POST /api/connections` takes: a name; where (a data centre, or an emulator's URL); the
 * self-client's id and secret; and a self-client's grant `code` (exchanged once) or a
 * `refreshToken`. An emulator's account may instead be named by `account` (its id; absent: the
 * emulator's default account), whose ready-made self-client is used.
 */
export interface ConnectionInput {
  name: string;
  dataCentre?: string;
  emulator?: string;
  account?: string;
  clientId?: string;
  clientSecret?: string;
  code?: string;
  refreshToken?: string;
}

/** `POST /api/connections/NAME/test` answers. */
export interface ConnectionTested {
  name: string;
  ok: boolean;
  /** What the account answered when it did not work. */
  error: string | null;
  connection: StoredConnectionView;
}

// ---------------------------------------------------------------------------------------------
// Notifications (docs/notifications.md)
// ---------------------------------------------------------------------------------------------

/** An entry of `GET /api/notifications/subscriptions`: the signed-in user's own (never a webhook's secret). */
export type NotificationSubscriptionView = Subscription;

/** `POST /api/notifications/subscriptions` takes... */
export interface NotificationSubscriptionInput {
  channel: NotificationChannel;
  /** An e-mail address, or the webhook's http(s) URL. */
  address: string;
  /** The kinds to hear about (default: all). */
  events?: NotificationKind[];
  /** Only organizations of these clients (absent or null: every organization the user may see). */
  clients?: string[] | null;
}
/** ...and answers (201); `secret` (webhooks) only in this answer: it signs every delivery. */
export interface NotificationSubscriptionCreated {
  subscription: NotificationSubscriptionView;
  secret?: string;
}

/** An entry of `GET /api/notifications/outbox` (the user's own notices, newest first), and the answer of a test. */
export type NotificationView = Omit<OutboxEntry, 'payload'>;
