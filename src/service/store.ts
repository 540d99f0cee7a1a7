/**
 * The service's own tables, beside the journal's in the same database: users, sessions,
 * per-organization settings (policy, schedule, webhook), CRM webhook events and scheduled-job marks.
 * Portable SQL through the journal's SqlDatabase port.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { migrate, type Component, type Journal, type SqlDatabase, type SqlValue } from '../engine/index.js';
import { createGroupCommit } from './group-commit.js';
import { isCurrentHash } from './passwords.js';
import { isRole, type Access, type Role } from './access.js';
import { liveState, SIGN_IN_LIMITS, type SignInKind, type SignInState } from './sign-in-limits.js';

export const SERVICE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS organization_settings (
    organization_id TEXT PRIMARY KEY,
    policy_text TEXT,
    cron TEXT,
    auto_apply_max INTEGER,
    last_scheduled_at BIGINT,
    last_run_at BIGINT,
    webhook_mode TEXT,
    webhook_secret TEXT,
    webhook_mapping TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS webhook_events (
    event_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    crm_account_id TEXT,
    crm_contact_id TEXT,
    books_contact_id TEXT,
    status_value TEXT NOT NULL,
    action TEXT,
    state TEXT NOT NULL,
    run_id TEXT,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    payload TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS webhook_events_dedupe ON webhook_events (organization_id, dedupe_key)`,
  `CREATE INDEX IF NOT EXISTS webhook_events_subject ON webhook_events (organization_id, subject, received_at)`,
  `CREATE INDEX IF NOT EXISTS webhook_events_state ON webhook_events (state, next_attempt_at)`,
  `CREATE TABLE IF NOT EXISTS webhook_nonces (
    organization_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (organization_id, nonce)
  )`,
];

/** Tables renamed since their first release: [old name, new name] (docs/glossary.md: organization). */
const RENAMED_TABLES: ReadonlyArray<readonly [string, string]> = [
  ['org_settings', 'organization_settings'],
];

/** Columns added to a table after its first release, before the migrations table: [table, column, type]. */
const ADDED_COLUMNS: ReadonlyArray<readonly [string, string, string]> = [
  ['organization_settings', 'last_run_at', 'BIGINT'],
];

/** A table's column names: SQLite's PRAGMA, or PostgreSQL's information schema. */
async function columnsOf(db: SqlDatabase, table: string): Promise<Set<string>> {
  const rows = db.dialect === 'sqlite'
    ? await db.all<{ name: string }>(`PRAGMA table_info(${table})`)
    : await db.all<{ name: string }>('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?', [table]);
  return new Set(rows.map((r) => String(r.name).toLowerCase()));
}

/**
 * The service's tables as versioned migrations (the `service` component; engine/storage/migrations.ts).
 * Version 1 is what the service made before the migrations table existed; it is written to be run
 * over such a database as it is (tables made if missing, renamed and added-to where older).
 */
export const SERVICE_COMPONENT: Component = {
  name: 'service',
  migrations: [
    {
      version: 1,
      name: 'users, sessions, organization settings, webhook events and nonces',
      up: async (tx) => {
        // A database from an earlier version keeps its rows under the table's new name.
        for (const [from, to] of RENAMED_TABLES) {
          if ((await columnsOf(tx, from)).size > 0 && (await columnsOf(tx, to)).size === 0) {
            await tx.exec(`ALTER TABLE ${from} RENAME TO ${to}`);
            // PostgreSQL names a primary key's index after its table and keeps the name on a rename.
            if (tx.dialect === 'postgres') await tx.exec(`ALTER INDEX IF EXISTS ${from}_pkey RENAME TO ${to}_pkey`);
          }
        }
        for (const sql of SERVICE_SCHEMA) await tx.exec(sql);
        for (const [table, column, type] of ADDED_COLUMNS) {
          if (!(await columnsOf(tx, table)).has(column)) await tx.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
        }
      },
    },
    {
      version: 2,
      name: 'webhook events deduplicated by constraints, leased to one processor',
      up: [
        // An event the sender named (an id) is stored once, whoever receives it.
        "CREATE UNIQUE INDEX IF NOT EXISTS webhook_events_named ON webhook_events (organization_id, dedupe_key) WHERE dedupe_key LIKE 'id:%'",
        // The latest event about each contact: a sender's retry of it is a duplicate, decided by one upsert.
        `CREATE TABLE IF NOT EXISTS webhook_subjects (
          organization_id TEXT NOT NULL,
          subject TEXT NOT NULL,
          dedupe_key TEXT NOT NULL,
          event_id TEXT NOT NULL,
          PRIMARY KEY (organization_id, subject)
        )`,
        `INSERT INTO webhook_subjects (organization_id, subject, dedupe_key, event_id)
         SELECT e.organization_id, e.subject, e.dedupe_key, e.event_id FROM webhook_events e
         WHERE NOT EXISTS (SELECT 1 FROM webhook_events l WHERE l.organization_id = e.organization_id AND l.subject = e.subject
           AND (l.received_at > e.received_at OR (l.received_at = e.received_at AND l.event_id > e.event_id)))`,
        // Which process works on an event, until when.
        'ALTER TABLE webhook_events ADD COLUMN lease_owner TEXT',
        'ALTER TABLE webhook_events ADD COLUMN lease_until BIGINT',
      ],
    },
    {
      version: 3,
      name: 'organization time zones, as Zoho says them: schedules run in them',
      up: [
        // What Zoho's GET /organizations said (`time_zone`, as written there), and since when: the
        // scheduler and `sunset schedules list` read it without calling Zoho.
        `CREATE TABLE IF NOT EXISTS organization_time_zones (
          organization_id TEXT PRIMARY KEY,
          time_zone TEXT NOT NULL,
          learned_at BIGINT NOT NULL
        )`,
      ],
    },
    {
      version: 4,
      name: 'failed sign-ins per user name and per address (delays and locks)',
      up: [
        // One row per user name (its SHA-256) or client address; src/service/sign-in-limits.ts.
        `CREATE TABLE IF NOT EXISTS sign_in_failures (
          kind TEXT NOT NULL,
          subject TEXT NOT NULL,
          failures INTEGER NOT NULL,
          window_start BIGINT NOT NULL,
          last_failed_at BIGINT NOT NULL,
          blocked_until BIGINT NOT NULL,
          PRIMARY KEY (kind, subject)
        )`,
      ],
    },
    {
      version: 5,
      name: 'signals from other platforms: an event names its source and may name a contact by e-mail',
      up: [
        "ALTER TABLE webhook_events ADD COLUMN source TEXT NOT NULL DEFAULT 'crm'",
        'ALTER TABLE webhook_events ADD COLUMN contact_email TEXT',
      ],
    },
    {
      version: 6,
      name: 'roles, clients, invitations and the people\'s actions',
      up: [
        // Everyone who could sign in before roles existed could do everything: they stay admins.
        "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'",
        // A user limited to some clients sees only their organizations (no rows: every client).
        `CREATE TABLE IF NOT EXISTS user_clients (
          username TEXT NOT NULL,
          client TEXT NOT NULL,
          PRIMARY KEY (username, client)
        )`,
        // The consultancy's customer an organization is grouped under.
        `CREATE TABLE IF NOT EXISTS organization_clients (
          organization_id TEXT PRIMARY KEY,
          client TEXT NOT NULL,
          updated_at BIGINT NOT NULL,
          updated_by TEXT NOT NULL
        )`,
        'CREATE INDEX IF NOT EXISTS organization_clients_by_client ON organization_clients (client)',
        // An invitation: its link's token (hashed) lets the person set their password, once.
        `CREATE TABLE IF NOT EXISTS user_invites (
          token_hash TEXT PRIMARY KEY,
          username TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          expires_at BIGINT NOT NULL,
          created_by TEXT NOT NULL
        )`,
        // Who did what, when: approvals (and the contacts they excluded), undo, resume, stop,
        // settings, clients, users and connections (the journal's audit has each contact's change).
        `CREATE TABLE IF NOT EXISTS actions (
          action_id TEXT PRIMARY KEY,
          at BIGINT NOT NULL,
          username TEXT NOT NULL,
          action TEXT NOT NULL,
          organization_id TEXT,
          subject TEXT,
          detail TEXT NOT NULL
        )`,
        'CREATE INDEX IF NOT EXISTS actions_by_time ON actions (at)',
        'CREATE INDEX IF NOT EXISTS actions_by_organization ON actions (organization_id, at)',
      ],
    },
  ],
};

/**
 * A sign-in attempt, counted (as a failure, until its password proves right) or refused before
 * its password is checked.
 */
export type SignInClaim =
  | { allowed: true; counted: Array<{ kind: SignInKind; failures: number; blockedUntil: number }> }
  | { allowed: false; retryAt: number; locked: boolean };

/** A user as `sunset users list` shows it (never the hash itself). */
export interface UserView extends Access {
  username: string;
  createdAt: number;
  /** Whether the password's hash is of today's scrypt cost (an earlier one is upgraded at the next sign-in). */
  hashIsCurrent: boolean;
  /** Invited and not signed up yet: no password, until when the invitation's link works (null: not invited). */
  invitedUntil: number | null;
}

/** A signed-in user as each request sees them. */
export interface SessionUser extends Access {
  username: string;
  csrfToken: string;
}

/** Something a person did, as the activity log keeps it. */
export interface ActionRecord {
  actionId: string;
  at: number;
  username: string;
  /** `plan.approve`, `run.undo`, `settings.policy`, `organization.client`, `user.invite`, ... */
  action: string;
  organizationId: string | null;
  /** The plan, run, user or connection it was about. */
  subject: string | null;
  detail: Record<string, unknown>;
}

export interface WebhookMapping {
  /** CRM status values that mean "mark inactive" (compared case-insensitively). */
  inactive: string[];
  /** CRM status values that mean "mark active". */
  active: string[];
}

export const DEFAULT_MAPPING: WebhookMapping = { inactive: ['Churned', 'Lost', 'Closed Lost', 'Inactive'], active: ['Active', 'Customer', 'Closed Won'] };

/** An organization's service settings. Its policy is not here: the journal keeps it, shared with the CLI. */
export interface OrganizationSettings {
  organizationId: string;
  cron: string | null;
  autoApplyMax: number | null;
  /**
   * Where the schedule counts its next run from: the time it last ran, or the time its cron was
   * saved (so a new schedule does not fire at once for a time already past).
   */
  lastScheduledAt: number | null;
  /** When the schedule last actually ran (null: never). */
  lastRunAt: number | null;
  webhookMode: 'hmac' | 'secret' | null;
  webhookSecret: string | null;
  mapping: WebhookMapping;
}

export type WebhookState = 'accepted' | 'processing' | 'applied' | 'unchanged' | 'unmatched' | 'ignored' | 'failed';

export interface WebhookEvent {
  eventId: string;
  organizationId: string;
  receivedAt: number;
  crmAccountId: string | null;
  crmContactId: string | null;
  booksContactId: string | null;
  /** The contact's e-mail address, when a signal names the contact by it. */
  email: string | null;
  /** Where it came from: `crm` (the CRM hook), or the source a signal names (`signal`, `shopify`, ...). */
  source: string;
  status: string;
  action: 'activate' | 'deactivate' | null;
  state: WebhookState;
  runId: string | null;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * How a name or an address is stored in sign_in_failures: an address as it is, a user name as its
 * SHA-256 (anything typed as a name is counted, a password typed in the wrong field included, and
 * the table should not keep it).
 */
export function signInSubject(kind: SignInKind, key: string): string {
  return kind === 'user' ? sha256(key) : key;
}

/**
 * `:name` placeholders (each once or more) and `?` in order, to the port's `?` and a parameter
 * list. `:now` is a time (BIGINT), `:n` a count (INTEGER): typed, so PostgreSQL never takes a
 * parameter for a 32-bit integer by the company it keeps.
 */
function bind(sql: string, positional: readonly SqlValue[], named: Readonly<Record<string, SqlValue>>): [string, SqlValue[]] {
  const params: SqlValue[] = [];
  let next = 0;
  const text = sql.replace(/\?|:(now|n)\b/g, (match, name?: string) => {
    if (match === '?') {
      params.push(positional[next++]!);
      return '?';
    }
    params.push(named[name!]!);
    return name === 'now' ? 'CAST(? AS BIGINT)' : 'CAST(? AS INTEGER)';
  });
  return [text, params];
}

const { windowMs: WINDOW_MS, throttleAfter: THROTTLE_AFTER, firstDelayMs: FIRST_DELAY_MS, lockAfter: LOCK_AFTER, lockMs: LOCK_MS } = SIGN_IN_LIMITS;
const F = 'sign_in_failures';
/** The row's window (or lock) has ended: the next failure starts a new one. */
const ENDED = `(${F}.blocked_until <= :now AND (${F}.failures >= ${LOCK_AFTER} OR ${F}.window_start <= :now - ${WINDOW_MS}))`;
/** The failures once this attempt counts. */
const COUNT = `(CASE WHEN ${ENDED} THEN 1 ELSE ${F}.failures + 1 END)`;
/** Until when the next attempt waits after `count` failures, the last at `at`. */
const blockedAfter = (count: string, at: string): string =>
  `CASE WHEN ${count} >= ${LOCK_AFTER} THEN ${at} + ${LOCK_MS} WHEN ${count} >= ${THROTTLE_AFTER} THEN ${at} + (${FIRST_DELAY_MS} << (${count} - ${THROTTLE_AFTER})) ELSE 0 END`;
/**
 * One statement counts an attempt, or (WHERE) refuses it: atomic on both databases, whoever else
 * counts at the same moment (PostgreSQL locks the row for the upsert; SQLite has one writer).
 * No row comes back when it is refused.
 */
const CLAIM_SQL = `INSERT INTO ${F} (kind, subject, failures, window_start, last_failed_at, blocked_until) VALUES (?, ?, 1, :now, :now, 0)
  ON CONFLICT (kind, subject) DO UPDATE SET
    failures = ${COUNT},
    window_start = CASE WHEN ${ENDED} THEN :now ELSE ${F}.window_start END,
    last_failed_at = :now,
    blocked_until = ${blockedAfter(COUNT, ':now')}
  WHERE ${F}.blocked_until <= :now
  RETURNING failures, blocked_until`;
/** A right password: the address keeps its failures but the user's `:n`, and the wait those others call for. */
const FORGIVE_SQL = `UPDATE ${F} SET failures = CASE WHEN failures > :n THEN failures - :n ELSE 0 END,
    blocked_until = ${blockedAfter('(failures - :n)', 'last_failed_at')}
  WHERE kind = 'address' AND subject = ?`;

class SignInRefused extends Error {}

export function newToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function toEvent(r: Record<string, unknown>): WebhookEvent {
  return {
    eventId: String(r.event_id),
    organizationId: String(r.organization_id),
    receivedAt: Number(r.received_at),
    crmAccountId: (r.crm_account_id as string | null) ?? null,
    crmContactId: (r.crm_contact_id as string | null) ?? null,
    booksContactId: (r.books_contact_id as string | null) ?? null,
    email: (r.contact_email as string | null) ?? null,
    source: String(r.source ?? 'crm'),
    status: String(r.status_value),
    action: (r.action as WebhookEvent['action']) ?? null,
    state: String(r.state) as WebhookState,
    runId: (r.run_id as string | null) ?? null,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: (r.last_error as string | null) ?? null,
  };
}

export interface ServiceStore {
  /** Creates the tables; moves policies saved by an earlier version into the journal (when it has none for that organization). */
  migrate(journal?: Journal): Promise<void>;
  /** Adds a user (with `access`, else as an admin), or sets an existing one's password (their access stays; their sessions end). */
  addUser(username: string, passwordHash: string, now: number, access?: Access): Promise<'added' | 'updated'>;
  user(username: string): Promise<{ username: string; passwordHash: string } | undefined>;
  userCount(): Promise<number>;
  /** Every user, by name. */
  users(): Promise<UserView[]>;
  /**
   * Replaces a user's hash with one of today's cost if it is still `from` (a password set
   * meanwhile wins); the user's sessions stay. True when it was replaced.
   */
  upgradePasswordHash(username: string, from: string, to: string): Promise<boolean>;
  /**
   * Counts a sign-in attempt as a failure of its address and of its user name, before the
   * password is checked (so guesses sent at once each see the others), unless either is delayed
   * or locked: then it is refused and counts nowhere. Names that are not users count the same.
   */
  claimSignIn(username: string, address: string, now: number): Promise<SignInClaim>;
  /** A sign-in whose password was right: the name's failures go, and as many of its address's. */
  signInSucceeded(username: string, address: string, now: number): Promise<void>;
  /** The names (as their SHA-256, `signInSubject`) and addresses with failures in their window, or refused. */
  signInStates(now: number): Promise<Array<SignInState & { kind: SignInKind; subject: string }>>;
  /** Forgets a name's or an address's failures (and so its delay or lock); false when it had none at `now`. */
  clearSignInFailures(kind: SignInKind, key: string, now: number): Promise<boolean>;
  /**
   * Sets a user's role and the clients they are limited to (null: every client). Refused
   * (`last-admin`) when it would demote the last admin who can sign in; `missing` when there is no
   * such user. Checked inside the change, so two admins demoting each other at once leave one.
   */
  setAccess(username: string, access: Access): Promise<'changed' | 'missing' | 'last-admin'>;
  /**
   * Removes a user, their sessions, limits and invitation. Refused (`last-admin`) when they are
   * the last admin who can sign in; `missing` when there is no such user.
   */
  removeUser(username: string): Promise<'removed' | 'missing' | 'last-admin'>;
  /**
   * Invites a new user (no password yet) with their access: the link's token, valid until
   * `expiresAt`. `exists` when the name is taken (by a user or an open invitation).
   */
  invite(username: string, access: Access, by: string, now: number, expiresAt: number): Promise<{ token: string } | 'exists'>;
  /** The user an invitation's token is for, while it is valid. */
  invitation(token: string, now: number): Promise<{ username: string; expiresAt: number } | undefined>;
  /** Uses an invitation once: sets the user's password; the user's name, or undefined when the token is not (or no longer) valid. */
  acceptInvitation(token: string, passwordHash: string, now: number): Promise<string | undefined>;
  createSession(username: string, now: number, ttlMs: number): Promise<{ token: string; csrfToken: string }>;
  session(token: string, now: number): Promise<SessionUser | undefined>;
  deleteSession(token: string): Promise<void>;
  settings(organizationId: string): Promise<OrganizationSettings>;
  allSettings(): Promise<OrganizationSettings[]>;
  saveSettings(settings: OrganizationSettings): Promise<void>;
  /**
   * Marks a schedule as run at `now` if it is still as the caller read it (the same cron, last
   * marked at `previous`): true for the one caller that claimed it. Only those two columns change,
   * so a setting saved meanwhile (the webhook, the cap) is kept.
   */
  claimSchedule(organizationId: string, cron: string, previous: number | null, now: number): Promise<boolean>;
  /**
   * Records what Zoho says each organization's time zone is (its `time_zone`, as written); returns
   * the organizations whose zone is new or changed.
   */
  saveTimeZones(zones: ReadonlyArray<{ organizationId: string; timeZone: string }>, now: number): Promise<string[]>;
  /** Each organization's time zone as Zoho last said it (an organization never seen is absent). */
  timeZones(): Promise<Map<string, string>>;
  /**
   * Stores an event unless it repeats one: an explicit event id seen before, or the same key as
   * the latest event about the same contact (so Churned → Active → Churned is three events, while
   * a sender's retry of the last one is not). Returns the stored (or earlier) event.
   */
  addEvent(event: WebhookEvent & { dedupeKey: string; subject: string; payload: string }): Promise<{ event: WebhookEvent; duplicate: boolean }>;
  /** Records a replay nonce (a signature); false when it was already seen. */
  useNonce(organizationId: string, nonce: string, now: number): Promise<boolean>;
  pruneNonces(olderThan: number): Promise<void>;
  /**
   * Leases up to `limit` events that are due to `owner` for `leaseMs`, oldest first: those no one
   * holds, the owner's own, and those whose holder's lease ran out or who is dead. Another process
   * asking at the same moment gets other events.
   */
  claimDueEvents(claim: { now: number; limit: number; owner: string; leaseMs: number; isDead?: (owner: string) => boolean; organizationId?: string }): Promise<WebhookEvent[]>;
  /** When the organization's first event still to apply is due (null: none waits). */
  nextEventDue(organizationId: string): Promise<number | null>;
  /** The organizations with an event due by `now` (accepted, or being applied and due again). */
  organizationsWithDueEvents(now: number): Promise<string[]>;
  updateEvent(eventId: string, fields: EventFields): Promise<void>;
  /** Several events' updates in one transaction: one durable commit, all or none. */
  updateEvents(updates: ReadonlyArray<{ eventId: string; fields: EventFields }>): Promise<void>;
  events(organizationId: string | undefined, limit: number): Promise<WebhookEvent[]>;
  eventCounts(): Promise<Array<{ organizationId: string; state: string; count: number }>>;
  /** Which client each grouped organization belongs to. */
  organizationClients(): Promise<Map<string, string>>;
  /** Groups an organization under a client (null: under none). */
  setOrganizationClient(organizationId: string, client: string | null, by: string, now: number): Promise<void>;
  /** Records what a person did (the activity log). */
  recordAction(action: Omit<ActionRecord, 'actionId'>): Promise<void>;
  /** The latest actions, newest first; `organizationIds` keeps those about them (and, with `general`, those about none). */
  actions(filter: { organizationIds?: ReadonlySet<string>; general?: boolean; limit: number }): Promise<ActionRecord[]>;
}

export type EventFields = Partial<Pick<WebhookEvent, 'state' | 'runId' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'action' | 'booksContactId'>>;

const EVENT_COLUMNS: Record<keyof EventFields, string> = { state: 'state', runId: 'run_id', attempts: 'attempts', nextAttemptAt: 'next_attempt_at', lastError: 'last_error', action: 'action', booksContactId: 'books_contact_id' };

async function updateEventIn(db: SqlDatabase, eventId: string, f: EventFields): Promise<void> {
  const sets: string[] = [];
  const params: Array<string | number | null> = [];
  for (const [k, v] of Object.entries(f)) {
    sets.push(`${EVENT_COLUMNS[k as keyof EventFields]} = ?`);
    params.push(v as string | number | null);
  }
  if (sets.length > 0) await db.run(`UPDATE webhook_events SET ${sets.join(', ')} WHERE event_id = ?`, [...params, eventId]);
}

export type { Access, Role };

/** A number for PostgreSQL's advisory lock: "changing who is an admin". */
const ADMINS_LOCK = 0x5375_6e41;

/**
 * Whether `username` is the last admin who can sign in (an invitation not yet taken does not
 * count), inside a transaction that then changes or removes them. SQLite's transactions already
 * write one at a time (BEGIN IMMEDIATE); on PostgreSQL two such transactions wait for each other
 * on an advisory lock, so each counts the admins the other left.
 */
async function isLastAdmin(tx: SqlDatabase, username: string): Promise<boolean> {
  if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [ADMINS_LOCK]);
  const others = await tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND username <> ? AND password_hash <> ''", [username]);
  return Number(others?.n ?? 0) === 0;
}

export function createServiceStore(db: SqlDatabase): ServiceStore {
  // A CRM event's nonce and the event itself: many arrive at once under a burst, each answered
  // only once stored; stored together, they share one durable commit.
  const grouped = createGroupCommit(db);
  let actionSeq = 0;
  return {
    async migrate(journal) {
      await migrate(db, [SERVICE_COMPONENT]);
      if (!journal) return;
      const legacy = await db.all<{ organization_id: string; policy_text: string }>('SELECT organization_id, policy_text FROM organization_settings WHERE policy_text IS NOT NULL');
      for (const row of legacy) {
        if (!(await journal.policy(row.organization_id))) {
          await journal.savePolicy({ organizationId: row.organization_id, text: row.policy_text, updatedAt: Date.now(), updatedBy: 'sunset serve (earlier version)' });
        }
        await db.run('UPDATE organization_settings SET policy_text = NULL WHERE organization_id = ?', [row.organization_id]);
      }
    },
    async addUser(username, passwordHash, now, access) {
      return db.transaction(async (tx) => {
        const existing = await tx.get('SELECT username FROM users WHERE username = ?', [username]);
        if (existing) {
          await tx.run('UPDATE users SET password_hash = ? WHERE username = ?', [passwordHash, username]);
          // A password set by an admin ends an open invitation, and every session.
          await tx.run('DELETE FROM user_invites WHERE username = ?', [username]);
          await tx.run('DELETE FROM sessions WHERE username = ?', [username]);
          return 'updated' as const;
        }
        await tx.run('INSERT INTO users (username, password_hash, created_at, role) VALUES (?, ?, ?, ?)', [username, passwordHash, now, access?.role ?? 'admin']);
        for (const client of access?.clients ?? []) await tx.run('INSERT INTO user_clients (username, client) VALUES (?, ?)', [username, client]);
        return 'added' as const;
      });
    },
    async user(username) {
      const row = await db.get<{ username: string; password_hash: string }>('SELECT username, password_hash FROM users WHERE username = ?', [username]);
      return row ? { username: row.username, passwordHash: row.password_hash } : undefined;
    },
    async setAccess(username, access) {
      return db.transaction(async (tx) => {
        const row = await tx.get<{ role: string }>('SELECT role FROM users WHERE username = ?', [username]);
        if (!row) return 'missing' as const;
        if (row.role === 'admin' && access.role !== 'admin' && (await isLastAdmin(tx, username))) return 'last-admin' as const;
        await tx.run('UPDATE users SET role = ? WHERE username = ?', [access.role, username]);
        await tx.run('DELETE FROM user_clients WHERE username = ?', [username]);
        for (const client of access.clients ?? []) await tx.run('INSERT INTO user_clients (username, client) VALUES (?, ?)', [username, client]);
        return 'changed' as const;
      });
    },
    async removeUser(username) {
      return db.transaction(async (tx) => {
        const row = await tx.get<{ role: string }>('SELECT role FROM users WHERE username = ?', [username]);
        if (!row) return 'missing' as const;
        if (row.role === 'admin' && (await isLastAdmin(tx, username))) return 'last-admin' as const;
        for (const table of ['sessions', 'user_clients', 'user_invites', 'users']) await tx.run(`DELETE FROM ${table} WHERE username = ?`, [username]);
        return 'removed' as const;
      });
    },
    async invite(username, access, by, now, expiresAt) {
      const token = newToken(32);
      try {
        await db.transaction(async (tx) => {
          // The name's primary key refuses a second user of that name, whoever invites at the same moment.
          await tx.run("INSERT INTO users (username, password_hash, created_at, role) VALUES (?, '', ?, ?)", [username, now, access.role]);
          for (const client of access.clients ?? []) await tx.run('INSERT INTO user_clients (username, client) VALUES (?, ?)', [username, client]);
          await tx.run('INSERT INTO user_invites (token_hash, username, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?)', [sha256(token), username, now, expiresAt, by]);
        });
      } catch (error) {
        if (await db.get('SELECT username FROM users WHERE username = ?', [username])) return 'exists';
        throw error;
      }
      return { token };
    },
    async invitation(token, now) {
      const row = await db.get<{ username: string; expires_at: number }>('SELECT username, expires_at FROM user_invites WHERE token_hash = ?', [sha256(token)]);
      return row && Number(row.expires_at) > now ? { username: row.username, expiresAt: Number(row.expires_at) } : undefined;
    },
    async acceptInvitation(token, passwordHash, now) {
      return db.transaction(async (tx) => {
        // Used once: the row goes as the password is set.
        const row = await tx.get<{ username: string }>('DELETE FROM user_invites WHERE token_hash = ? AND expires_at > ? RETURNING username', [sha256(token), now]);
        if (!row) return undefined;
        await tx.run("UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ''", [passwordHash, row.username]);
        return row.username;
      });
    },
    async userCount() {
      return Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM users'))?.n ?? 0);
    },
    async users() {
      const rows = await db.all<{ username: string; password_hash: string; created_at: number; role: string; invited_until: number | null }>(
        'SELECT u.username, u.password_hash, u.created_at, u.role, (SELECT MAX(i.expires_at) FROM user_invites i WHERE i.username = u.username) AS invited_until FROM users u ORDER BY u.username',
      );
      const limits = await clientLimits(db);
      return rows.map((r) => ({
        username: r.username, createdAt: Number(r.created_at), hashIsCurrent: r.password_hash === '' || isCurrentHash(r.password_hash),
        role: toRole(r.role), clients: limits.get(r.username) ?? null,
        invitedUntil: r.password_hash === '' && r.invited_until !== null ? Number(r.invited_until) : null,
      }));
    },
    async upgradePasswordHash(username, from, to) {
      return (await db.run('UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?', [to, username, from])) === 1;
    },
    async claimSignIn(username, address, now) {
      const keys: Array<[SignInKind, string]> = [['address', address], ['user', signInSubject('user', username)]];
      try {
        // Both or neither: the address first, always, so two attempts never wait on each other's rows.
        return await db.transaction(async (tx) => {
          const counted: Array<{ kind: SignInKind; failures: number; blockedUntil: number }> = [];
          for (const [kind, subject] of keys) {
            const row = await tx.get<{ failures: number; blocked_until: number }>(...bind(CLAIM_SQL, [kind, subject], { now }));
            if (!row) throw new SignInRefused();
            counted.push({ kind, failures: Number(row.failures), blockedUntil: Number(row.blocked_until) });
          }
          return { allowed: true as const, counted };
        });
      } catch (error) {
        if (!(error instanceof SignInRefused)) throw error;
      }
      const rows = await db.all<{ failures: number; blocked_until: number }>(
        `SELECT failures, blocked_until FROM ${F} WHERE (kind = ? AND subject = ?) OR (kind = ? AND subject = ?)`,
        keys.flat(),
      );
      const blocking = rows.filter((r) => Number(r.blocked_until) > now);
      // (A wait that ended between the two statements: the attempt may come again at once.)
      const retryAt = Math.max(now + 1000, ...blocking.map((r) => Number(r.blocked_until)));
      return { allowed: false, retryAt, locked: blocking.some((r) => Number(r.failures) >= LOCK_AFTER) };
    },
    async signInSucceeded(username, address, now) {
      const gone = await db.get<{ failures: number }>(`DELETE FROM ${F} WHERE kind = 'user' AND subject = ? RETURNING failures`, [signInSubject('user', username)]);
      const n = Number(gone?.failures ?? 0);
      if (n > 0) await db.run(...bind(FORGIVE_SQL, [address], { n }));
      // Rows whose window or lock has ended say nothing any more.
      await db.run(...bind(`DELETE FROM ${F} WHERE ${F}.failures = 0 OR ${ENDED}`, [], { now }));
    },
    async signInStates(now) {
      const rows = await db.all<{ kind: SignInKind; subject: string; failures: number; window_start: number; last_failed_at: number; blocked_until: number }>(
        `SELECT kind, subject, failures, window_start, last_failed_at, blocked_until FROM ${F} ORDER BY kind, subject`,
      );
      return rows
        .map((r) => ({
          kind: r.kind,
          subject: r.subject,
          ...liveState({ failures: Number(r.failures), windowStart: Number(r.window_start), lastFailedAt: Number(r.last_failed_at), blockedUntil: Number(r.blocked_until) }, now),
        }))
        .filter((r) => r.failures > 0);
    },
    async clearSignInFailures(kind, key, now) {
      const gone = await db.get<{ failures: number; window_start: number; last_failed_at: number; blocked_until: number }>(
        `DELETE FROM ${F} WHERE kind = ? AND subject = ? RETURNING failures, window_start, last_failed_at, blocked_until`,
        [kind, signInSubject(kind, key)],
      );
      if (!gone) return false;
      return liveState({ failures: Number(gone.failures), windowStart: Number(gone.window_start), lastFailedAt: Number(gone.last_failed_at), blockedUntil: Number(gone.blocked_until) }, now).failures > 0;
    },
    async createSession(username, now, ttlMs) {
      const token = newToken();
      const csrfToken = newToken(24);
      await db.run('INSERT INTO sessions (token_hash, username, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', [sha256(token), username, csrfToken, now, now + ttlMs]);
      await db.run('DELETE FROM sessions WHERE expires_at < ?', [now]);
      return { token, csrfToken };
    },
    async session(token, now) {
      const row = await db.get<{ username: string; csrf_token: string; expires_at: number; role: string }>(
        'SELECT s.username, s.csrf_token, s.expires_at, u.role FROM sessions s JOIN users u ON u.username = s.username WHERE s.token_hash = ?', [sha256(token)],
      );
      if (!row || Number(row.expires_at) < now) return undefined;
      const clients = (await db.all<{ client: string }>('SELECT client FROM user_clients WHERE username = ? ORDER BY client', [row.username])).map((r) => r.client);
      return { username: row.username, csrfToken: row.csrf_token, role: toRole(row.role), clients: clients.length > 0 ? clients : null };
    },
    async deleteSession(token) {
      await db.run('DELETE FROM sessions WHERE token_hash = ?', [sha256(token)]);
    },
    async settings(organizationId) {
      const row = await db.get<Record<string, unknown>>('SELECT * FROM organization_settings WHERE organization_id = ?', [organizationId]);
      if (!row) {
        return { organizationId, cron: null, autoApplyMax: null, lastScheduledAt: null, lastRunAt: null, webhookMode: null, webhookSecret: null, mapping: { ...DEFAULT_MAPPING } };
      }
      return {
        organizationId,
        cron: (row.cron as string | null) ?? null,
        autoApplyMax: row.auto_apply_max === null || row.auto_apply_max === undefined ? null : Number(row.auto_apply_max),
        lastScheduledAt: row.last_scheduled_at === null || row.last_scheduled_at === undefined ? null : Number(row.last_scheduled_at),
        lastRunAt: row.last_run_at === null || row.last_run_at === undefined ? null : Number(row.last_run_at),
        webhookMode: (row.webhook_mode as OrganizationSettings['webhookMode']) ?? null,
        webhookSecret: (row.webhook_secret as string | null) ?? null,
        mapping: JSON.parse(String(row.webhook_mapping)) as WebhookMapping,
      };
    },
    async allSettings() {
      const rows = await db.all<{ organization_id: string }>('SELECT organization_id FROM organization_settings ORDER BY organization_id');
      return Promise.all(rows.map((r) => this.settings(r.organization_id)));
    },
    async saveSettings(s) {
      await db.run(
        `INSERT INTO organization_settings (organization_id, policy_text, cron, auto_apply_max, last_scheduled_at, last_run_at, webhook_mode, webhook_secret, webhook_mapping)
         VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (organization_id) DO UPDATE SET cron = excluded.cron, auto_apply_max = excluded.auto_apply_max,
           last_scheduled_at = excluded.last_scheduled_at, last_run_at = excluded.last_run_at, webhook_mode = excluded.webhook_mode,
           webhook_secret = excluded.webhook_secret, webhook_mapping = excluded.webhook_mapping`,
        [s.organizationId, s.cron, s.autoApplyMax, s.lastScheduledAt, s.lastRunAt, s.webhookMode, s.webhookSecret, JSON.stringify(s.mapping)],
      );
    },
    async claimSchedule(organizationId, cron, previous, now) {
      const changed = previous === null
        ? await db.run('UPDATE organization_settings SET last_scheduled_at = ?, last_run_at = ? WHERE organization_id = ? AND cron = ? AND last_scheduled_at IS NULL', [now, now, organizationId, cron])
        : await db.run('UPDATE organization_settings SET last_scheduled_at = ?, last_run_at = ? WHERE organization_id = ? AND cron = ? AND last_scheduled_at = ?', [now, now, organizationId, cron, previous]);
      return changed === 1;
    },
    async saveTimeZones(zones, now) {
      if (zones.length === 0) return [];
      return db.transaction(async (tx) => {
        const changed: string[] = [];
        for (const { organizationId, timeZone } of zones) {
          // Unchanged: nothing written, and learned_at keeps when this zone was first seen.
          const n = await tx.run(
            `INSERT INTO organization_time_zones (organization_id, time_zone, learned_at) VALUES (?, ?, ?)
             ON CONFLICT (organization_id) DO UPDATE SET time_zone = excluded.time_zone, learned_at = excluded.learned_at
             WHERE organization_time_zones.time_zone <> excluded.time_zone`,
            [organizationId, timeZone, now],
          );
          if (n === 1) changed.push(organizationId);
        }
        return changed;
      });
    },
    async timeZones() {
      const rows = await db.all<{ organization_id: string; time_zone: string }>('SELECT organization_id, time_zone FROM organization_time_zones');
      return new Map(rows.map((r) => [String(r.organization_id), String(r.time_zone)]));
    },
    async addEvent(e) {
      return grouped(async (tx) => {
        const insertEvent = (): Promise<number> => tx.run(
          `INSERT INTO webhook_events (event_id, organization_id, dedupe_key, subject, received_at, crm_account_id, crm_contact_id, books_contact_id, status_value,
             action, state, run_id, attempts, next_attempt_at, last_error, payload, source, contact_email)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          [e.eventId, e.organizationId, e.dedupeKey, e.subject, e.receivedAt, e.crmAccountId, e.crmContactId, e.booksContactId, e.status, e.action, e.state,
            e.nextAttemptAt, e.lastError, e.payload, e.source, e.email],
        );
        const earlier = async (sql: string, params: string[]): Promise<{ event: WebhookEvent; duplicate: boolean }> => {
          const row = await tx.get<Record<string, unknown>>(sql, params);
          if (!row) throw new Error(`the earlier event of ${e.subject} is missing`);
          return { event: toEvent(row), duplicate: true };
        };
        const subjectIs = (always: boolean): Promise<number> => tx.run(
          `INSERT INTO webhook_subjects (organization_id, subject, dedupe_key, event_id) VALUES (?, ?, ?, ?)
           ON CONFLICT (organization_id, subject) DO UPDATE SET dedupe_key = excluded.dedupe_key, event_id = excluded.event_id
           ${always ? '' : 'WHERE webhook_subjects.dedupe_key <> excluded.dedupe_key'}`,
          [e.organizationId, e.subject, e.dedupeKey, e.eventId],
        );
        if (e.dedupeKey.startsWith('id:')) {
          // Named by the sender: the unique index decides, even between processes.
          if ((await insertEvent()) === 0) return earlier('SELECT * FROM webhook_events WHERE organization_id = ? AND dedupe_key = ?', [e.organizationId, e.dedupeKey]);
          await subjectIs(true);
          return { event: e, duplicate: false };
        }
        // Unnamed: a repeat of the contact's latest event changes nothing in webhook_subjects.
        if ((await subjectIs(false)) === 0) {
          return earlier(
            'SELECT w.* FROM webhook_events w JOIN webhook_subjects s ON s.event_id = w.event_id WHERE s.organization_id = ? AND s.subject = ?',
            [e.organizationId, e.subject],
          );
        }
        await insertEvent();
        return { event: e, duplicate: false };
      });
    },
    async useNonce(organizationId, nonce, now) {
      const changed = await grouped((tx) => tx.run('INSERT INTO webhook_nonces (organization_id, nonce, seen_at) VALUES (?, ?, ?) ON CONFLICT (organization_id, nonce) DO NOTHING', [organizationId, nonce, now]));
      return changed === 1;
    },
    async pruneNonces(olderThan) {
      await db.run('DELETE FROM webhook_nonces WHERE seen_at < ?', [olderThan]);
    },
    async nextEventDue(organizationId) {
      const row = await db.get<{ due: number | string | null }>(
        `SELECT MIN(next_attempt_at) AS due FROM webhook_events WHERE organization_id = ? AND state IN ('accepted', 'processing')`,
        [organizationId],
      );
      return row?.due === null || row?.due === undefined ? null : Number(row.due);
    },
    async organizationsWithDueEvents(now) {
      const rows = await db.all<{ organization_id: string }>(
        `SELECT DISTINCT organization_id FROM webhook_events WHERE state IN ('accepted', 'processing') AND next_attempt_at <= ? ORDER BY organization_id`,
        [now],
      );
      return rows.map((r) => String(r.organization_id));
    },
    async claimDueEvents({ now, limit, owner, leaseMs, isDead, organizationId }) {
      return db.transaction(async (tx) => {
        const taken = new Map<string, Record<string, unknown>>();
        // On PostgreSQL two claimers may pick the same rows; the fenced UPDATE gives each row to one
        // of them, and the loser looks again (read committed: it now sees the winner's leases) for
        // rows nobody holds, instead of going away with nothing while events wait. SQLite runs one
        // writing transaction at a time, so it never loses a row and does one round.
        for (let round = 0; round < 5 && taken.size < limit; round++) {
          const want = limit - taken.size;
          const due = await tx.all<Record<string, unknown>>(
            `SELECT * FROM webhook_events WHERE state IN ('accepted', 'processing') AND next_attempt_at <= ?${organizationId !== undefined ? ' AND organization_id = ?' : ''}
             ORDER BY received_at, event_id LIMIT ?`,
            organizationId !== undefined ? [now, organizationId, limit * 2] : [now, limit * 2],
          );
          const free = due.filter((r) => {
            if (taken.has(String(r.event_id))) return false;
            const holder = r.lease_owner === null || r.lease_owner === undefined ? null : String(r.lease_owner);
            return holder === null || holder === owner || Number(r.lease_until) < now || isDead?.(holder) === true;
          }).slice(0, want);
          if (free.length === 0) break;
          // Fenced on the holder seen: a process that took one meanwhile keeps it.
          const byHolder = new Map<string, string[]>();
          for (const r of free) {
            const holder = r.lease_owner === null || r.lease_owner === undefined ? '' : String(r.lease_owner);
            byHolder.set(holder, [...(byHolder.get(holder) ?? []), String(r.event_id)]);
          }
          const got = new Set<string>();
          for (const [holder, ids] of byHolder) {
            for (let i = 0; i < ids.length; i += 400) {
              const chunk = ids.slice(i, i + 400);
              const rows = await tx.all<{ event_id: string }>(
                `UPDATE webhook_events SET lease_owner = ?, lease_until = ?
                 WHERE event_id IN (${chunk.map(() => '?').join(', ')}) AND COALESCE(lease_owner, '') = ? RETURNING event_id`,
                [owner, now + leaseMs, ...chunk, holder],
              );
              for (const r of rows) got.add(String(r.event_id));
            }
          }
          for (const r of free) if (got.has(String(r.event_id))) taken.set(String(r.event_id), r);
          if (got.size === free.length) break;
        }
        return [...taken.values()]
          .sort((x, y) => Number(x.received_at) - Number(y.received_at) || String(x.event_id).localeCompare(String(y.event_id)))
          .map(toEvent);
      });
    },
    async updateEvent(eventId, f) {
      await updateEventIn(db, eventId, f);
    },
    async updateEvents(updates) {
      if (updates.length === 0) return;
      await db.transaction(async (tx) => {
        for (const { eventId, fields } of updates) await updateEventIn(tx, eventId, fields);
      });
    },
    async events(organizationId, limit) {
      const rows = organizationId
        ? await db.all<Record<string, unknown>>('SELECT * FROM webhook_events WHERE organization_id = ? ORDER BY received_at DESC, event_id DESC LIMIT ?', [organizationId, limit])
        : await db.all<Record<string, unknown>>('SELECT * FROM webhook_events ORDER BY received_at DESC, event_id DESC LIMIT ?', [limit]);
      return rows.map(toEvent);
    },
    async eventCounts() {
      const rows = await db.all<{ organization_id: string; state: string; n: number }>('SELECT organization_id, state, COUNT(*) AS n FROM webhook_events GROUP BY organization_id, state');
      return rows.map((r) => ({ organizationId: r.organization_id, state: r.state, count: Number(r.n) }));
    },
    async organizationClients() {
      const rows = await db.all<{ organization_id: string; client: string }>('SELECT organization_id, client FROM organization_clients');
      return new Map(rows.map((r) => [r.organization_id, r.client]));
    },
    async setOrganizationClient(organizationId, client, by, now) {
      if (client === null) await db.run('DELETE FROM organization_clients WHERE organization_id = ?', [organizationId]);
      else {
        await db.run(
          'INSERT INTO organization_clients (organization_id, client, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (organization_id) DO UPDATE SET client = excluded.client, updated_at = excluded.updated_at, updated_by = excluded.updated_by',
          [organizationId, client, now, by],
        );
      }
    },
    async recordAction(a) {
      await db.run(
        'INSERT INTO actions (action_id, at, username, action, organization_id, subject, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
        // Sorts by time, then by the order this process recorded them (several in one millisecond), then at random.
        [`${a.at.toString(36).padStart(9, '0')}-${(actionSeq++).toString(36).padStart(8, '0')}-${randomUUID().slice(0, 8)}`, a.at, a.username, a.action, a.organizationId, a.subject, JSON.stringify(a.detail)],
      );
    },
    async actions({ organizationIds, general, limit }) {
      const where: string[] = [];
      const ids = organizationIds === undefined ? [] : [...organizationIds];
      if (organizationIds !== undefined) {
        if (ids.length > 0) where.push(`organization_id IN (${ids.map(() => '?').join(', ')})`);
        if (general) where.push('organization_id IS NULL');
        if (where.length === 0) return [];
      }
      const kept = await db.all<{ action_id: string; at: number; username: string; action: string; organization_id: string | null; subject: string | null; detail: string }>(
        `SELECT action_id, at, username, action, organization_id, subject, detail FROM actions${where.length > 0 ? ` WHERE ${where.join(' OR ')}` : ''} ORDER BY at DESC, action_id DESC LIMIT ${Math.max(0, Math.floor(limit))}`,
        ids,
      );
      return kept.map((r) => ({
        actionId: r.action_id, at: Number(r.at), username: r.username, action: r.action, organizationId: r.organization_id, subject: r.subject,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      }));
    },
  };
}

/** Each limited user's clients (users absent: every client). */
async function clientLimits(db: SqlDatabase): Promise<Map<string, string[]>> {
  const limits = new Map<string, string[]>();
  for (const r of await db.all<{ username: string; client: string }>('SELECT username, client FROM user_clients ORDER BY username, client')) {
    limits.set(r.username, [...(limits.get(r.username) ?? []), r.client]);
  }
  return limits;
}

/** A stored role; anything else (a row written by hand) reads as the least: viewer. */
function toRole(value: string): Role {
  return isRole(value) ? value : 'viewer';
}
