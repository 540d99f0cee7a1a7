/**
 * Notifications' tables, beside the service's in the same database (their own migrations
 * component, `notifications`): each user's subscriptions (where to send, which event kinds, which
 * clients), and the outbox, one row per notice to send, written before any delivery is tried.
 * Delivery claims due rows with a lease, fenced like the CRM events' (src/service/store.ts,
 * claimDueEvents): two processes never take the same row while its lease runs. Portable SQL
 * through the SqlDatabase port.
 */
import { randomUUID } from 'node:crypto';
import { migrate, type Component, type SqlDatabase } from '../engine/index.js';

/** What a subscription can ask to hear about (docs/notifications.md). */
export const NOTIFICATION_KINDS = ['plan.review', 'run.finished', 'run.failed', 'run.paused', 'event.failed'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
/** A test notice (`POST /api/notifications/subscriptions/:id/test`) goes to one subscription, whatever its kinds. */
export type NoticeKind = NotificationKind | 'test';

export type NotificationChannel = 'email' | 'webhook';
/** What a delivery pass sends: every notice, or all but the e-mails (a process without the SMTP settings). */
export type DeliveryScope = 'all' | 'webhooks';
/** The SQL that keeps a 'webhooks' pass off the e-mails. */
const NOT_EMAIL = " AND subscription_id NOT IN (SELECT subscription_id FROM notification_subscriptions WHERE channel = 'email')";
export type NotificationState = 'pending' | 'delivered' | 'failed';

export const NOTIFICATIONS_COMPONENT: Component = {
  name: 'notifications',
  migrations: [
    {
      version: 1,
      name: 'notification subscriptions and the outbox',
      up: [
        // `events` is a JSON list of kinds; `clients` a JSON list of client names, NULL for every
        // organization the user may see. `secret` signs a webhook's deliveries (HMAC needs it).
        `CREATE TABLE IF NOT EXISTS notification_subscriptions (
          subscription_id TEXT PRIMARY KEY,
          username TEXT NOT NULL,
          channel TEXT NOT NULL,
          address TEXT NOT NULL,
          secret TEXT,
          events TEXT NOT NULL,
          clients TEXT,
          created_at BIGINT NOT NULL
        )`,
        'CREATE INDEX IF NOT EXISTS notification_subscriptions_user ON notification_subscriptions (username, created_at)',
        // A notice as it will be sent (the address and the secret stay on the subscription).
        // `dedupe_key` names what it is about (`run:ID:done`), so one thing is noticed once per subscription.
        `CREATE TABLE IF NOT EXISTS notification_outbox (
          notification_id TEXT PRIMARY KEY,
          subscription_id TEXT NOT NULL,
          username TEXT NOT NULL,
          kind TEXT NOT NULL,
          organization_id TEXT,
          dedupe_key TEXT NOT NULL,
          subject TEXT NOT NULL,
          body TEXT NOT NULL,
          payload TEXT NOT NULL,
          state TEXT NOT NULL,
          attempts INTEGER NOT NULL,
          next_attempt_at BIGINT NOT NULL,
          last_error TEXT,
          lease_owner TEXT,
          lease_until BIGINT,
          delivered_at BIGINT,
          created_at BIGINT NOT NULL
        )`,
        'CREATE UNIQUE INDEX IF NOT EXISTS notification_outbox_dedupe ON notification_outbox (subscription_id, dedupe_key)',
        'CREATE INDEX IF NOT EXISTS notification_outbox_due ON notification_outbox (state, next_attempt_at)',
        'CREATE INDEX IF NOT EXISTS notification_outbox_user ON notification_outbox (username, created_at)',
      ],
    },
  ],
};

export interface Subscription {
  subscriptionId: string;
  username: string;
  channel: NotificationChannel;
  /** An e-mail address, or the webhook's URL. */
  address: string;
  events: NotificationKind[];
  /** The clients whose organizations it covers; null: every organization the user may see. */
  clients: string[] | null;
  createdAt: number;
}

/** A subscription with its signing secret (webhooks): for delivery only, never answered after creation. */
export interface SubscriptionWithSecret extends Subscription {
  secret: string | null;
}

export interface OutboxEntry {
  notificationId: string;
  subscriptionId: string;
  username: string;
  kind: NoticeKind;
  organizationId: string | null;
  subject: string;
  body: string;
  /** The JSON document a webhook receives. */
  payload: string;
  state: NotificationState;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  deliveredAt: number | null;
  createdAt: number;
}

/** A notice to write: one row per subscription it goes to. */
export interface NewNotice {
  kind: NoticeKind;
  organizationId: string | null;
  dedupeKey: string;
  subject: string;
  body: string;
  /** The webhook document without its `id` (each row gets its own). */
  payload: Record<string, unknown>;
}

export interface NotificationStore {
  migrate(): Promise<void>;
  addSubscription(s: Omit<SubscriptionWithSecret, 'subscriptionId'>): Promise<SubscriptionWithSecret>;
  subscriptions(username: string): Promise<Subscription[]>;
  /** Every subscription with its secret (the matcher reads them when something happens). */
  allSubscriptions(): Promise<SubscriptionWithSecret[]>;
  subscription(subscriptionId: string): Promise<SubscriptionWithSecret | undefined>;
  /** Removes a user's subscription; its pending notices fail (nowhere to send them). False: not theirs, or none. */
  removeSubscription(username: string, subscriptionId: string, now: number): Promise<boolean>;
  /** Writes the notices (one transaction; a dedupe key already written for a subscription is skipped); the ids written. */
  enqueue(rows: ReadonlyArray<{ subscription: Subscription; notice: NewNotice }>, now: number): Promise<string[]>;
  /**
   * Leases up to `limit` due pending notices to `owner` for `leaseMs` (only `notificationId`, when
   * given): those no one holds, the owner's own, those whose lease ran out. Another process asking
   * at the same moment gets other rows.
   */
  /**
   * Leases up to `limit` due notices to `owner`; `scope` 'webhooks' leaves the e-mails (a process
   * without the SMTP settings), taking every other notice (a removed subscription's too, to fail it).
   */
  claimDue(claim: { now: number; limit: number; owner: string; leaseMs: number; notificationId?: string; scope?: DeliveryScope }): Promise<OutboxEntry[]>;
  /** When the first pending notice (in `scope`) is due (null: none is pending). */
  nextDue(scope?: DeliveryScope): Promise<number | null>;
  /** Records a delivery, if `owner` still holds the row. */
  delivered(notificationId: string, owner: string, now: number): Promise<boolean>;
  /** Records a failed attempt: tried again at `nextAttemptAt`, or `failed` for good when `final`. */
  attemptFailed(notificationId: string, owner: string, f: { attempts: number; error: string; nextAttemptAt: number; final: boolean }): Promise<boolean>;
  /** A user's notices (undefined: everyone's), newest first. */
  outbox(username: string | undefined, limit: number): Promise<OutboxEntry[]>;
  notice(notificationId: string): Promise<OutboxEntry | undefined>;
}

function toSubscription(r: Record<string, unknown>): SubscriptionWithSecret {
  return {
    subscriptionId: String(r.subscription_id),
    username: String(r.username),
    channel: String(r.channel) as NotificationChannel,
    address: String(r.address),
    secret: r.secret === null || r.secret === undefined ? null : String(r.secret),
    events: JSON.parse(String(r.events)) as NotificationKind[],
    clients: r.clients === null || r.clients === undefined ? null : (JSON.parse(String(r.clients)) as string[]),
    createdAt: Number(r.created_at),
  };
}

function toEntry(r: Record<string, unknown>): OutboxEntry {
  const orNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return {
    notificationId: String(r.notification_id),
    subscriptionId: String(r.subscription_id),
    username: String(r.username),
    kind: String(r.kind) as NoticeKind,
    organizationId: orNull(r.organization_id),
    subject: String(r.subject),
    body: String(r.body),
    payload: String(r.payload),
    state: String(r.state) as NotificationState,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: orNull(r.last_error),
    deliveredAt: r.delivered_at === null || r.delivered_at === undefined ? null : Number(r.delivered_at),
    createdAt: Number(r.created_at),
  };
}

/** Public columns only: a subscription as its owner sees it. */
function withoutSecret({ secret: _secret, ...rest }: SubscriptionWithSecret): Subscription {
  return rest;
}

export function createNotificationStore(db: SqlDatabase): NotificationStore {
  return {
    async migrate() {
      await migrate(db, [NOTIFICATIONS_COMPONENT]);
    },
    async addSubscription(s) {
      const subscriptionId = `sub-${randomUUID()}`;
      await db.run(
        'INSERT INTO notification_subscriptions (subscription_id, username, channel, address, secret, events, clients, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [subscriptionId, s.username, s.channel, s.address, s.secret, JSON.stringify(s.events), s.clients === null ? null : JSON.stringify(s.clients), s.createdAt],
      );
      return { ...s, subscriptionId };
    },
    async subscriptions(username) {
      const rows = await db.all<Record<string, unknown>>('SELECT * FROM notification_subscriptions WHERE username = ? ORDER BY created_at, subscription_id', [username]);
      return rows.map((r) => withoutSecret(toSubscription(r)));
    },
    async allSubscriptions() {
      return (await db.all<Record<string, unknown>>('SELECT * FROM notification_subscriptions ORDER BY created_at, subscription_id')).map(toSubscription);
    },
    async subscription(subscriptionId) {
      const row = await db.get<Record<string, unknown>>('SELECT * FROM notification_subscriptions WHERE subscription_id = ?', [subscriptionId]);
      return row ? toSubscription(row) : undefined;
    },
    async removeSubscription(username, subscriptionId, now) {
      return db.transaction(async (tx) => {
        const gone = await tx.run('DELETE FROM notification_subscriptions WHERE subscription_id = ? AND username = ?', [subscriptionId, username]);
        if (gone === 0) return false;
        await tx.run(
          "UPDATE notification_outbox SET state = 'failed', last_error = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE subscription_id = ? AND state = 'pending'",
          ['the subscription was removed', now, subscriptionId],
        );
        return true;
      });
    },
    async enqueue(rows, now) {
      if (rows.length === 0) return [];
      return db.transaction(async (tx) => {
        const written: string[] = [];
        for (const { subscription, notice } of rows) {
          const notificationId = `ntf-${now.toString(36)}-${randomUUID()}`;
          const payload = JSON.stringify({ id: notificationId, ...notice.payload });
          const n = await tx.run(
            `INSERT INTO notification_outbox (notification_id, subscription_id, username, kind, organization_id, dedupe_key, subject, body, payload, state, attempts,
               next_attempt_at, last_error, lease_owner, lease_until, delivered_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, NULL, NULL, NULL, ?) ON CONFLICT DO NOTHING`,
            [notificationId, subscription.subscriptionId, subscription.username, notice.kind, notice.organizationId, notice.dedupeKey, notice.subject, notice.body, payload, now, now],
          );
          if (n === 1) written.push(notificationId);
        }
        return written;
      });
    },
    async nextDue(scope = 'all') {
      const row = await db.get<{ due: number | string | null }>(`SELECT MIN(next_attempt_at) AS due FROM notification_outbox WHERE state = 'pending'${scope === 'webhooks' ? NOT_EMAIL : ''}`);
      return row?.due === null || row?.due === undefined ? null : Number(row.due);
    },
    async claimDue({ now, limit, owner, leaseMs, notificationId, scope = 'all' }) {
      return db.transaction(async (tx) => {
        const taken: OutboxEntry[] = [];
        const seen = new Set<string>();
        // As the CRM events' claim: a claimer that lost rows to another at the same moment looks
        // again (PostgreSQL, read committed: it now sees the other's leases) for rows nobody holds.
        for (let round = 0; round < 5 && taken.length < limit; round++) {
          const due = (await tx.all<Record<string, unknown>>(
            `SELECT * FROM notification_outbox WHERE state = 'pending' AND next_attempt_at <= ?${notificationId === undefined ? '' : ' AND notification_id = ?'}${scope === 'webhooks' ? NOT_EMAIL : ''}
             AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)
             ORDER BY next_attempt_at, notification_id LIMIT ?`,
            notificationId === undefined ? [now, owner, now, limit + seen.size] : [now, notificationId, owner, now, limit + seen.size],
          )).filter((r) => !seen.has(String(r.notification_id))).slice(0, limit - taken.length);
          if (due.length === 0) break;
          let lost = 0;
          for (const r of due) {
            seen.add(String(r.notification_id));
            // Fenced on the holder seen: a process that took it meanwhile keeps it (PostgreSQL
            // re-reads the row after the other's commit, and this UPDATE then changes nothing).
            const holder = r.lease_owner === null || r.lease_owner === undefined ? '' : String(r.lease_owner);
            const n = await tx.run(
              "UPDATE notification_outbox SET lease_owner = ?, lease_until = ? WHERE notification_id = ? AND state = 'pending' AND COALESCE(lease_owner, '') = ?",
              [owner, now + leaseMs, String(r.notification_id), holder],
            );
            if (n === 1) taken.push(toEntry(r));
            else lost++;
          }
          if (lost === 0) break;
        }
        return taken;
      });
    },
    async delivered(notificationId, owner, now) {
      const n = await db.run(
        "UPDATE notification_outbox SET state = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE notification_id = ? AND lease_owner = ? AND state = 'pending'",
        [now, notificationId, owner],
      );
      return n === 1;
    },
    async attemptFailed(notificationId, owner, f) {
      const n = await db.run(
        'UPDATE notification_outbox SET state = ?, attempts = ?, last_error = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE notification_id = ? AND lease_owner = ? AND state = ?',
        [f.final ? 'failed' : 'pending', f.attempts, f.error, f.nextAttemptAt, notificationId, owner, 'pending'],
      );
      return n === 1;
    },
    async outbox(username, limit) {
      const rows = username === undefined
        ? await db.all<Record<string, unknown>>('SELECT * FROM notification_outbox ORDER BY created_at DESC, notification_id DESC LIMIT ?', [limit])
        : await db.all<Record<string, unknown>>('SELECT * FROM notification_outbox WHERE username = ? ORDER BY created_at DESC, notification_id DESC LIMIT ?', [username, limit]);
      return rows.map(toEntry);
    },
    async notice(notificationId) {
      const row = await db.get<Record<string, unknown>>('SELECT * FROM notification_outbox WHERE notification_id = ?', [notificationId]);
      return row ? toEntry(row) : undefined;
    },
  };
}
