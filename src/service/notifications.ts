/**
 * Notifications (docs/notifications.md): when a scheduled plan waits for review, a run finishes,
 * stops on an error or waits for the daily quota, or a CRM event or signal cannot be applied, each
 * subscription that wants that kind, for an organization its user may see (and of a client it
 * names), gets a notice: an e-mail over SMTP (nodemailer) or a signed JSON POST to a webhook.
 *
 * A notice is written to the outbox first (src/service/notification-store.ts); a delivery loop
 * then sends what is due, and a failed attempt is tried again later (30 s doubling to 1 h, 10
 * attempts, then `failed`, still listed). Nothing here ever throws into a run or a CRM event: a
 * broken mail server delays the notice, never the work.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createTransport, type Transporter } from 'nodemailer';
import type { EngineClock, Journal } from '../engine/index.js';
import type { PlanReview, ServiceEvent } from './api-types.js';
import { seesClient } from './access.js';
import type { EventRelay } from './event-relay.js';
import type { EventBus } from './events.js';
import { errorText, silentLogger, type ServiceLogger } from './logger.js';
import {
  createNotificationStore, NOTIFICATION_KINDS, type DeliveryScope, type NewNotice, type NotificationChannel, type NotificationKind, type NotificationStore,
  type OutboxEntry, type Subscription, type SubscriptionWithSecret,
} from './notification-store.js';
import type { SqlDatabase } from '../engine/index.js';
import type { ServiceStore } from './store.js';
import type { WorkQueue } from './work-queue.js';

/** An SMTP server to send through: `--smtp-url` (its password never leaves this object but to the server). */
export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (`smtps://`, usually port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user?: string;
  password?: string;
}

export interface RetryOptions {
  /** The wait after the first failed attempt (default 30 s); it doubles after each. */
  firstDelayMs?: number;
  /** The longest wait (default 1 h). */
  maxDelayMs?: number;
  /** Attempts before a notice is `failed` for good (default 10). */
  maxAttempts?: number;
}

export interface NotificationOptions {
  smtp?: SmtpSettings;
  /** The From of e-mails (default `Sunset <sunset@localhost>`). */
  from?: string;
  retry?: RetryOptions;
  /** How often the delivery loop sends what is due (default 5 s); 0 turns it off (tests call `deliverDue`). */
  intervalMs?: number;
  /** How long one SMTP conversation or webhook POST may take (default 30 s). */
  timeoutMs?: number;
  /** The fetch webhooks are posted with (default: the global one). */
  fetch?: typeof fetch;
}

export interface NotificationParts {
  database: SqlDatabase;
  journal: Journal;
  store: ServiceStore;
  clock: EngineClock;
  /** This process's lease owner name (the outbox's leases). */
  owner: string;
  logger?: ServiceLogger;
  /** `--public-url`: links in notices point there (none without it). */
  publicUrl?: string;
  /** An organization's name, for the notice's words (undefined: unknown). */
  organizationName?: (organizationId: string) => Promise<string | undefined>;
}

/** A refused subscription (the API answers 400 with its message). */
export class NotificationInputError extends Error {
  override name = 'NotificationInputError';
}

/** A bad `--smtp-url` or `--mail-from`. */
export class NotificationConfigError extends Error {
  override name = 'NotificationConfigError';
}

export interface SubscriptionInput {
  channel?: unknown;
  address?: unknown;
  events?: unknown;
  clients?: unknown;
}

export interface CheckedSubscription {
  channel: NotificationChannel;
  address: string;
  events: NotificationKind[];
  clients: string[] | null;
}

export interface Notifications {
  readonly store: NotificationStore;
  migrate(): Promise<void>;
  /**
   * Starts the delivery loop (unless its interval is 0); or, given a cluster's `queue`, no loop of
   * its own: it asks the queue for delivery passes when notices are written (one of every notice,
   * `sunset-notify`, worked by the serves, which hold the SMTP settings; one of all but the
   * e-mails, `sunset-notify-webhooks`, worked by the workers and the serves), and after each pass
   * while some of its scope wait to be tried again (when the first is due).
   */
  start(queue?: Pick<WorkQueue, 'sendNotify'>): void;
  /**
   * Writes the notices of what the bus carries: finished, stopped and waiting runs, CRM events that
   * failed, and scheduled plans left for review (said by the scheduler, or on a cluster by the worker
   * that made the plan). This process's own events only: those the relay brings from other processes
   * are theirs to write, so each is written once, whether or not a serve is running.
   */
  follow(bus: EventBus, relay?: Pick<EventRelay, 'relayed'>): void;
  /** Resolves once the notices being written now are in the outbox. */
  settled(): Promise<void>;
  /** Sends the due notices now (one pass of a scope at a time); 'webhooks' leaves the e-mails; how many were tried. */
  deliverDue(scope?: DeliveryScope): Promise<number>;
  /** A user's subscription, checked; the webhook's secret is in the answer, once. */
  subscribe(username: string, input: SubscriptionInput): Promise<{ subscription: Subscription; secret?: string }>;
  /** A test notice to one of the user's subscriptions, sent at once; undefined: not theirs. */
  sendTest(username: string, subscriptionId: string): Promise<OutboxEntry | undefined>;
  /** Stops the loop and waits for the pass and the writes in flight. */
  close(): Promise<void>;
}

const DEFAULT_RETRY: Required<RetryOptions> = { firstDelayMs: 30_000, maxDelayMs: 3_600_000, maxAttempts: 10 };
const LEASE_MS = 5 * 60_000;
const BATCH = 20;

/** The wait before attempt `attempts + 1`, after `attempts` failed ones: capped doubling. */
export function retryDelay(attempts: number, retry: Required<RetryOptions>): number {
  return Math.min(retry.maxDelayMs, retry.firstDelayMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * `smtp://USER:PASSWORD@HOST:PORT` or `smtps://…` (user and password percent-encoded; port
 * default 587, or 465 for smtps). `password` (from a file or the environment) stands in for one the
 * URL lacks.
 */
export function parseSmtpUrl(text: string, password?: string): SmtpSettings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new NotificationConfigError('the SMTP URL is not a URL: write smtp://USER@HOST:PORT (or smtps:// for TLS from the start)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new NotificationConfigError(`the SMTP URL must start with smtp:// or smtps://, not ${url.protocol}//`);
  if (!url.hostname) throw new NotificationConfigError('the SMTP URL names no host');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) throw new NotificationConfigError('the SMTP URL takes only a user, a host and a port');
  const secure = url.protocol === 'smtps:';
  const settings: SmtpSettings = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : secure ? 465 : 587, secure };
  if (url.username) settings.user = decodeURIComponent(url.username);
  const pass = url.password ? decodeURIComponent(url.password) : password;
  if (pass !== undefined && pass !== '') {
    if (!settings.user) throw new NotificationConfigError('an SMTP password needs a user: smtp://USER@HOST:PORT');
    settings.password = pass;
  }
  return settings;
}

/** The SMTP server in words, without its password: `smtp://user@host:587`. */
export function describeSmtp(s: SmtpSettings): string {
  const host = s.host.includes(':') ? `[${s.host}]` : s.host;
  return `${s.secure ? 'smtps' : 'smtp'}://${s.user ? `${encodeURIComponent(s.user)}@` : ''}${host}:${s.port}`;
}

/** `--mail-from`: `ADDRESS` or `NAME <ADDRESS>`, as it is given (checked only). */
export function checkMailFrom(text: string): string {
  const trimmed = text.trim();
  const address = /<([^<>]*)>\s*$/.exec(trimmed)?.[1] ?? trimmed;
  if (!EMAIL.test(address) || /[\r\n]/.test(trimmed)) throw new NotificationConfigError(`"${trimmed}" is not an address to send from: write sunset@example.com or "Sunset <sunset@example.com>"`);
  return trimmed;
}

// A pragmatic check, not RFC 5322: one @, no spaces or angle brackets, a dotted domain.
const EMAIL = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]+$/;

/** Checks a subscription as a person sent it: what is wrong, said plainly. */
export function checkSubscription(input: SubscriptionInput): CheckedSubscription {
  const { channel, address } = input;
  if (channel !== 'email' && channel !== 'webhook') throw new NotificationInputError('channel must be "email" or "webhook"');
  if (typeof address !== 'string' || address.trim() === '') throw new NotificationInputError(channel === 'email' ? 'address must be an e-mail address' : 'address must be the webhook\'s URL');
  const trimmed = address.trim();
  if (trimmed.length > 2000) throw new NotificationInputError('address is too long');
  if (channel === 'email') {
    if (!EMAIL.test(trimmed) || trimmed.length > 254) throw new NotificationInputError(`"${trimmed.slice(0, 100)}" is not an e-mail address`);
  } else {
    let url: URL | undefined;
    try {
      url = new URL(trimmed);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) throw new NotificationInputError('address must be an http:// or https:// URL');
    if (url.username || url.password) throw new NotificationInputError('the webhook URL must not carry a user or password');
  }
  let events: NotificationKind[] = [...NOTIFICATION_KINDS];
  if (input.events !== undefined && input.events !== null) {
    if (!Array.isArray(input.events) || input.events.length === 0) throw new NotificationInputError(`events must be a list of: ${NOTIFICATION_KINDS.join(', ')}`);
    const unknown = input.events.filter((e) => typeof e !== 'string' || !(NOTIFICATION_KINDS as readonly string[]).includes(e));
    if (unknown.length > 0) throw new NotificationInputError(`unknown event kind ${JSON.stringify(unknown[0])}: use ${NOTIFICATION_KINDS.join(', ')}`);
    events = NOTIFICATION_KINDS.filter((k) => (input.events as string[]).includes(k));
  }
  let clients: string[] | null = null;
  if (input.clients !== undefined && input.clients !== null) {
    if (!Array.isArray(input.clients) || input.clients.length === 0 || input.clients.some((c) => typeof c !== 'string' || c.trim() === '' || c.length > 200)) {
      throw new NotificationInputError('clients must be a list of client names (or absent: every organization you may see)');
    }
    clients = [...new Set((input.clients as string[]).map((c) => c.trim()))];
  }
  return { channel, address: trimmed, events, clients };
}

/** The Sunset-Signature header of a webhook delivery: `t=SECONDS,v1=HEX(HMAC-SHA256(secret, "SECONDS.BODY"))`. */
export function signNotification(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}

/** What happened, before it is matched to subscriptions. */
interface Happening {
  kind: NotificationKind;
  organizationId: string;
  dedupeKey: string;
  /** The headline, after the organization's name. */
  headline: string;
  lines: string[];
  /** Where in the UI (a hash path: `/runs/ID`). */
  path: string | null;
  data: Record<string, unknown>;
}

export function createNotifications(parts: NotificationParts, options: NotificationOptions = {}): Notifications {
  const { clock, journal, owner } = parts;
  const logger = parts.logger ?? silentLogger;
  const store = createNotificationStore(parts.database);
  const retry: Required<RetryOptions> = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const from = options.from ?? 'Sunset <sunset@localhost>';
  const doFetch = options.fetch ?? fetch;
  const writing = new Set<Promise<unknown>>();
  /** Runs already noticed waiting for a quota reset (`runId:until`), so each wait is noticed once. */
  const waits = new Set<string>();
  const passing = new Map<DeliveryScope, Promise<number>>();
  let timer: NodeJS.Timeout | undefined;
  /** On a cluster's queue: asks the queue for a delivery pass at a time (`start(queue)`). */
  let scheduled: ((at: number, scope?: DeliveryScope) => void) | undefined;
  let mailer: Transporter | undefined;

  /** An error's words with the SMTP password taken out, whatever a server or library put in them. */
  const clean = (error: unknown): string => {
    let text = errorText(error);
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message && !text.includes(cause.message)) text = `${text}: ${cause.message}`;
    const password = options.smtp?.password;
    if (password) {
      for (const form of new Set([password, encodeURIComponent(password)])) text = text.split(form).join('[redacted]');
    }
    return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  };

  const track = (work: Promise<unknown>): void => {
    const p = work.catch((error: unknown) => logger.error({ error: clean(error) }, 'could not write a notification to the outbox'));
    writing.add(p);
    void p.finally(() => writing.delete(p));
  };

  const link = (path: string | null): string | null => (path && parts.publicUrl ? `${parts.publicUrl.replace(/\/$/, '')}/#${path}` : null);

  /** Writes the happening as a notice for every subscription that wants it. */
  const notify = async (h: Happening): Promise<string[]> => {
    const subscriptions = (await store.allSubscriptions()).filter((s) => s.events.includes(h.kind));
    if (subscriptions.length === 0) return [];
    // A notice reaches only those who may see its organization (their role's clients), and a
    // subscription limited to clients hears of those clients' organizations: read from the service's
    // tables once a notice, so any process on the database (a serve, a worker) writes the same rows.
    const client = (await parts.store.organizationClients()).get(h.organizationId) ?? null;
    const users = new Map((await parts.store.users()).map((u) => [u.username, u]));
    const name = await parts.organizationName?.(h.organizationId).catch(() => undefined);
    const rows: Array<{ subscription: Subscription; notice: NewNotice }> = [];
    for (const subscription of subscriptions) {
      if (subscription.clients !== null && (client === null || !subscription.clients.includes(client))) continue;
      const user = users.get(subscription.username);
      if (!user || !seesClient(user, client ?? undefined)) continue;
      const where = name ? `${name} (${h.organizationId})` : `organization ${h.organizationId}`;
      const subject = `Sunset: ${h.headline} in ${where}`;
      const url = link(h.path);
      const body = [...h.lines, ...(url ? ['', url] : []), '', `Organization: ${where}${client ? `, client ${client}` : ''}`].join('\n');
      rows.push({
        subscription,
        notice: {
          kind: h.kind, organizationId: h.organizationId, dedupeKey: h.dedupeKey, subject, body,
          payload: {
            type: h.kind, createdAt: new Date(clock.now()).toISOString(),
            organization: { id: h.organizationId, name: name ?? null, client },
            subject, text: `${subject}\n${body}`, url, data: h.data,
          },
        },
      });
    }
    const written = await store.enqueue(rows, clock.now());
    if (written.length > 0) scheduled?.(clock.now());
    if (written.length > 0) logger.info({ kind: h.kind, organizationId: h.organizationId, notices: written.length }, 'notifications written to the outbox');
    return written;
  };

  /** A scheduled plan left for review. */
  const reviewNotice = async (r: PlanReview): Promise<void> => {
    await notify({
      kind: 'plan.review', organizationId: r.organizationId, dedupeKey: `plan:${r.planId}`,
      headline: `a scheduled plan waits for review (${r.steps} steps)`,
      lines: [`The scheduled scan made plan ${r.planId}: ${r.steps} contacts to change, ${r.excluded} excluded. Nothing changes until someone approves it.`],
      path: `/plans/${r.planId}`, data: { planId: r.planId, steps: r.steps, excluded: r.excluded },
    });
  };

  const onRun = async (data: Extract<ServiceEvent, { type: 'run' }>['data']): Promise<void> => {
    const { runId, organizationId, counts } = data;
    if (data.phase === 'waiting' && data.waitingUntil !== undefined) {
      const key = `${runId}:${data.waitingUntil}`;
      if (waits.has(key)) return;
      waits.add(key);
      const until = new Date(data.waitingUntil).toISOString();
      await notify({
        kind: 'run.paused', organizationId, dedupeKey: `run:${runId}:waiting:${data.waitingUntil}`,
        headline: `run ${runId} waits for the daily Zoho quota`,
        lines: [`Run ${runId} has used the organization's daily Zoho API quota. It waits, and goes on by itself at ${until}.`, `So far: ${counts.changed} changed, ${counts.unchanged} unchanged, ${counts.pending} to do.`],
        path: `/runs/${runId}`, data: { runId, waitingUntil: data.waitingUntil, counts },
      });
      return;
    }
    if (data.phase !== undefined || data.message !== undefined) return;
    for (const key of waits) if (key.startsWith(`${runId}:`)) waits.delete(key);
    if (data.state === 'done') {
      const run = await journal.getRun(runId);
      await notify({
        kind: 'run.finished', organizationId, dedupeKey: `run:${runId}:done`,
        headline: `run ${runId} finished`,
        lines: [
          `Run ${runId}${run?.planId ? ` (of plan ${run.planId})` : run?.undoOf ? ` (the undo of ${run.undoOf})` : ''} finished: ${counts.changed} contacts changed, ${counts.unchanged} already as asked, ${counts.skipped} skipped, ${counts.failed} failed.`,
        ],
        path: `/runs/${runId}`, data: { runId, kind: run?.kind ?? null, planId: run?.planId ?? null, counts },
      });
    } else if (data.error !== undefined && (data.state === 'paused' || data.state === 'failed')) {
      await notify({
        kind: 'run.failed', organizationId, dedupeKey: `run:${runId}:stopped:${clock.now()}`,
        headline: `run ${runId} stopped`,
        lines: [`Run ${runId} stopped: ${data.error}`, `It is ${data.state}: ${counts.changed} changed, ${counts.pending} still to do. Resume it from its page once the cause is fixed.`],
        path: `/runs/${runId}`, data: { runId, state: data.state, error: data.error, counts },
      });
    }
  };

  const onWebhook = async (data: Extract<ServiceEvent, { type: 'webhook' }>['data']): Promise<void> => {
    if (data.state !== 'failed' && data.state !== 'unmatched') return;
    // A burst of failing events with no one to tell reads nothing more.
    if (!(await store.allSubscriptions()).some((sub) => sub.events.includes('event.failed'))) return;
    const event = (await parts.store.events(data.organizationId, 500)).find((e) => e.eventId === data.eventId);
    const source = event?.source === 'crm' || !event ? 'CRM event' : `${event.source} signal`;
    const contact = event?.booksContactId ? `Books contact ${event.booksContactId}`
      : event?.crmAccountId ? `CRM account ${event.crmAccountId}` : event?.crmContactId ? `CRM contact ${event.crmContactId}` : event?.email ? event.email : 'its contact';
    await notify({
      kind: 'event.failed', organizationId: data.organizationId, dedupeKey: `event:${data.eventId}`,
      headline: `a ${source} could not be applied`,
      lines: [
        `The ${source} ${data.eventId} (${contact} is "${event?.status ?? '?'}") was ${data.state === 'unmatched' ? 'not matched to a Books contact' : 'not applied'}: ${event?.lastError ?? 'see the CRM events page'}.`,
      ],
      path: '/webhooks', data: { eventId: data.eventId, state: data.state, source: event?.source ?? null, status: event?.status ?? null, error: event?.lastError ?? null },
    });
  };

  const sendEmail = async (entry: OutboxEntry, subscription: SubscriptionWithSecret): Promise<void> => {
    const smtp = options.smtp;
    if (!smtp) throw new Error('no SMTP server is configured (sunset serve --smtp-url)');
    mailer ??= createTransport({
      host: smtp.host, port: smtp.port, secure: smtp.secure,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
    });
    await mailer.sendMail({ from, to: subscription.address, subject: entry.subject, text: entry.body, headers: { 'Sunset-Notification-Id': entry.notificationId } });
  };

  const sendWebhook = async (entry: OutboxEntry, subscription: SubscriptionWithSecret): Promise<void> => {
    const timestamp = Math.floor(clock.now() / 1000);
    const response = await doFetch(subscription.address, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Sunset-Notifications/1',
        'sunset-id': entry.notificationId,
        'sunset-timestamp': String(timestamp),
        'sunset-signature': signNotification(subscription.secret ?? '', entry.payload, timestamp),
      },
      body: entry.payload,
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 200 || response.status > 299) throw new Error(`the webhook answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  };

  // Each delivery leases under a name of its own (a pass of each scope, a test): a lease holder may
  // take its own rows again, so two of one process (a serve works both passes) sharing the process's
  // name would both send a notice (CI saw a plan.review webhook delivered twice).
  const holderOf = (what: DeliveryScope | 'test'): string => `${owner}:${what}`;
  const deliver = async (entry: OutboxEntry, holder: string): Promise<void> => {
    const subscription = await store.subscription(entry.subscriptionId);
    try {
      if (!subscription) throw new Error('the subscription was removed');
      if (subscription.channel === 'email') await sendEmail(entry, subscription);
      else await sendWebhook(entry, subscription);
      await store.delivered(entry.notificationId, holder, clock.now());
      logger.info({ notificationId: entry.notificationId, subscriptionId: entry.subscriptionId, kind: entry.kind, attempts: entry.attempts + 1 }, 'notification delivered');
    } catch (error) {
      const attempts = entry.attempts + 1;
      const final = !subscription || attempts >= retry.maxAttempts;
      const message = clean(error);
      const nextAttemptAt = final ? clock.now() : clock.now() + retryDelay(attempts, retry);
      await store.attemptFailed(entry.notificationId, holder, { attempts, error: message, nextAttemptAt, final });
      logger.warn(
        { notificationId: entry.notificationId, subscriptionId: entry.subscriptionId, kind: entry.kind, attempts, error: message, ...(final ? {} : { nextAttemptAt: new Date(nextAttemptAt).toISOString() }) },
        final ? 'notification not delivered: given up' : 'notification not delivered: it is tried again later',
      );
    }
  };

  const deliverBatch = async (claimed: OutboxEntry[], holder: string): Promise<number> => {
    await Promise.all(claimed.map((entry) => deliver(entry, holder)));
    return claimed.length;
  };

  const deliverDue = (scope: DeliveryScope = 'all'): Promise<number> => {
    let pass = passing.get(scope);
    if (pass) return pass;
    const holder = holderOf(scope);
    pass = (async () => {
      let total = 0;
      for (;;) {
        const claimed = await store.claimDue({ now: clock.now(), limit: BATCH, owner: holder, leaseMs: LEASE_MS, scope });
        total += await deliverBatch(claimed, holder);
        if (claimed.length < BATCH) break;
      }
      if (scheduled) {
        const next = await store.nextDue(scope);
        if (next !== null) scheduled(Math.max(next, clock.now() + 1_000), scope);
      }
      return total;
    })().finally(() => {
      passing.delete(scope);
    });
    passing.set(scope, pass);
    return pass;
  };

  return {
    store,
    migrate: () => store.migrate(),
    start(queue) {
      if (queue) {
        scheduled = (at, scope) => void queue.sendNotify(at, scope).catch((e: unknown) => logger.warn({ error: errorText(e) }, 'could not queue a delivery of notifications; the next tick delivers them'));
        return;
      }
      if (options.intervalMs === 0 || timer) return;
      timer = setInterval(() => void deliverDue().catch((e: unknown) => logger.error({ error: clean(e) }, 'delivering notifications failed')), options.intervalMs ?? 5_000);
      timer.unref();
    },
    follow(bus, relay) {
      bus.subscribe((event) => {
        if (relay?.relayed(event)) return;
        if (event.type === 'run') track(onRun(event.data));
        else if (event.type === 'webhook') track(onWebhook(event.data));
        else if (event.type === 'review') track(reviewNotice(event.data));
      });
    },
    async settled() {
      while (writing.size > 0) await Promise.all([...writing]);
    },
    deliverDue,
    async subscribe(username, input) {
      const checked = checkSubscription(input);
      const secret = checked.channel === 'webhook' ? `whsec_${randomBytes(24).toString('base64url')}` : null;
      const saved = await store.addSubscription({ username, ...checked, secret, createdAt: clock.now() });
      const { secret: _secret, ...subscription } = saved;
      logger.info({ subscriptionId: saved.subscriptionId, username, channel: saved.channel, events: saved.events }, 'notification subscription added');
      return secret === null ? { subscription } : { subscription, secret };
    },
    async sendTest(username, subscriptionId) {
      const subscription = await store.subscription(subscriptionId);
      if (!subscription || subscription.username !== username) return undefined;
      const subject = 'Sunset: a test notification';
      const body = `This is a test of your ${subscription.channel === 'email' ? 'e-mail' : 'webhook'} subscription ${subscriptionId}, sent at ${username}'s request.`;
      const [id] = await store.enqueue([{
        subscription,
        notice: {
          kind: 'test', organizationId: null, dedupeKey: `test:${randomBytes(8).toString('hex')}`, subject, body,
          payload: { type: 'test', createdAt: new Date(clock.now()).toISOString(), organization: null, subject, text: `${subject}\n${body}`, url: null, data: { subscriptionId } },
        },
      }], clock.now());
      const holder = holderOf('test');
      await deliverBatch(await store.claimDue({ now: clock.now(), limit: 1, owner: holder, leaseMs: LEASE_MS, notificationId: id! }), holder);
      return store.notice(id!);
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      while (writing.size > 0) await Promise.all([...writing]);
      await Promise.all([...passing.values()].map((p) => p.catch(() => undefined)));
      mailer?.close();
    },
  };
}
