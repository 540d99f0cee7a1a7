/**
 * CRM webhooks: `POST /hooks/crm/:org`. Zoho CRM workflow rules can POST a record's fields (JSON
 * or form) to a URL, with custom headers or parameters but no signature of their own. So two modes:
 *
 * - `hmac`: the sender signs `TIMESTAMP.BODY` with the org's secret (HMAC-SHA256):
 *   `X-Sunset-Timestamp: <unix seconds>`, `X-Sunset-Signature: sha256=<hex>`. Requests older than
 *   5 minutes are refused, and each signature is accepted once (a replay is refused). Use it from
 *   anything that can sign: a Deluge function, a relay, your own code.
 * - `secret`: the secret travels as is, in `X-Sunset-Secret` or `?secret=` (what a plain Zoho CRM
 *   webhook can do). Anyone who sees one request can forge others, and nothing stops a replay but
 *   the duplicate check: keep it on HTTPS, and prefer `hmac` when you can.
 *
 * An accepted event is stored durably before the answer (202). Duplicates (the same event id, or
 * the same contact, status and event time) are collapsed into the first (200). The processor maps
 * the CRM id to the Books contact with the zcrm_* filters and applies the change through the
 * journal as a `crm` run, with retries.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { isZohoId } from '../zoho/index.js';
import { applyRun, type BooksPort, type EngineClock, type Failpoint, type Journal } from '../engine/index.js';
import type { ErrorBody, HookAccepted } from './api-types.js';
import type { EventBus } from './events.js';
import { sha256, type EventFields, type OrganizationSettings, type ServiceStore, type WebhookEvent, type WebhookMapping, type WebhookState } from './store.js';
import { errorText, type ServiceLogger } from './logger.js';

export const WEBHOOK_TOLERANCE_MS = 5 * 60_000;
export const WEBHOOK_MAX_BODY = 64 * 1024;
/**
 * How long a processor holds the events it took: another process (or this one after a restart,
 * once the holder is seen dead) takes them over after that. A run made from them is fenced by
 * the journal's own run lease as well.
 */
const EVENT_LEASE_MS = 10 * 60_000;

export interface WebhookRequest {
  organizationId: string;
  headers: Record<string, string | undefined>;
  query: URLSearchParams;
  body: Buffer;
  /** The mapping to use instead of the organization's saved one (from `--crm-mapping FILE`). */
  mapping?: WebhookMapping;
}

/** A new event (202), one already received (200), or a refusal. */
export type WebhookAnswer =
  | { status: 202 | 200; body: HookAccepted }
  | { status: 400 | 401 | 404 | 409; body: ErrorBody };

function constantEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ID_KEYS = {
  books: ['books_contact_id', 'contact_id_books', 'bookscontactid'],
  account: ['crm_account_id', 'zcrm_account_id', 'account_id', 'accountid'],
  contact: ['crm_contact_id', 'zcrm_contact_id', 'crmcontactid'],
};
const STATUS_KEYS = ['status', 'account_status', 'stage', 'deal_stage', 'crm_status'];
const EVENT_ID_KEYS = ['event_id', 'eventid'];
const TIME_KEYS = ['event_time', 'modified_time', 'timestamp'];

interface ParsedPayload {
  books?: string;
  account?: string;
  contact?: string;
  /** A signal's contact by e-mail (lower-cased). */
  email?: string;
  /** A signal's sender, for the audit trail. */
  source?: string;
  status: string;
  eventId?: string;
  eventTime?: string;
}

const EMAIL = /^[^\s@"<>(),;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/**
 * Reads the fields Sunset needs from a JSON object or a form, case-insensitively. A signal
 * (`options.signal`) may also name its contact by `email` and itself by `source`.
 */
export function parsePayload(body: Buffer, contentType: string, options: { signal?: boolean } = {}): ParsedPayload | { error: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { error: 'the body is not valid UTF-8' };
  }
  let fields: Record<string, unknown>;
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    fields = Object.fromEntries(new URLSearchParams(text));
  } else {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: 'the body must be a JSON object (or a form)' };
      fields = parsed as Record<string, unknown>;
    } catch {
      return { error: 'the body is not valid JSON (or a form with Content-Type application/x-www-form-urlencoded)' };
    }
  }
  const lower = new Map(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]));
  const pick = (keys: string[]): string | undefined => {
    for (const k of keys) {
      const v = lower.get(k);
      if (typeof v === 'string' && v.trim() !== '') return v.trim();
      if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    }
    return undefined;
  };
  const status = pick(STATUS_KEYS);
  if (!status) return { error: `no status field (one of ${STATUS_KEYS.join(', ')})` };
  if (status.length > 200) return { error: 'the status is longer than 200 characters' };
  const out: ParsedPayload = { status, books: pick(ID_KEYS.books), account: pick(ID_KEYS.account), contact: pick(ID_KEYS.contact), eventId: pick(EVENT_ID_KEYS), eventTime: pick(TIME_KEYS) };
  if (options.signal) {
    out.email = pick(['email'])?.toLowerCase();
    out.source = pick(['source']);
    if (out.email !== undefined && (out.email.length > 254 || !EMAIL.test(out.email))) return { error: 'email is not an e-mail address' };
    if (out.source !== undefined && !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,59}$/.test(out.source)) return { error: 'source is a name of up to 60 letters, digits, spaces, . _ or -' };
  }
  if (!out.books && !out.account && !out.contact && !out.email) {
    return { error: `no contact named: give books_contact_id, crm_account_id or crm_contact_id${options.signal ? ', or email' : ''}` };
  }
  for (const [name, value] of [['books_contact_id', out.books], ['crm_account_id', out.account], ['crm_contact_id', out.contact]] as const) {
    if (value !== undefined && !/^[0-9]{6,19}$/.test(value)) return { error: `${name} must be a numeric id (got ${JSON.stringify(value.slice(0, 40))}); ids are strings of digits` };
  }
  if (out.books !== undefined && !isZohoId(out.books)) return { error: 'books_contact_id must be a Zoho id of 15 to 19 digits' };
  if (out.eventId !== undefined && out.eventId.length > 200) return { error: 'event_id is longer than 200 characters' };
  return out;
}

/** How a signal names its contact, for a step's reason: "CRM account 123", "the contact with the e-mail a@b.c". */
function describeSubject(e: WebhookEvent): string {
  if (e.crmAccountId) return `CRM account ${e.crmAccountId}`;
  if (e.crmContactId) return `CRM contact ${e.crmContactId}`;
  if (e.email) return `the contact with the e-mail ${e.email}`;
  return `contact ${e.booksContactId ?? '?'}`;
}

export function actionFor(status: string, mapping: OrganizationSettings['mapping']): 'activate' | 'deactivate' | null {
  const s = status.toLowerCase();
  if (mapping.inactive.some((v) => v.toLowerCase() === s)) return 'deactivate';
  if (mapping.active.some((v) => v.toLowerCase() === s)) return 'activate';
  return null;
}

/**
 * The request's credentials, by the organization's webhook mode: a refusal, or null when it may go
 * on. The same rules for the CRM hook and for signals: a signature (once, within 5 minutes) or the
 * secret itself.
 */
async function authenticate(store: ServiceStore, settings: OrganizationSettings, req: WebhookRequest, now: number): Promise<WebhookAnswer | null> {
  if (!settings.webhookMode || !settings.webhookSecret) {
    return { status: 404, body: { error: `no CRM webhook is set up for organization ${req.organizationId}` } };
  }
  if (settings.webhookMode === 'hmac') {
    const timestamp = req.headers['x-sunset-timestamp'];
    const signature = (req.headers['x-sunset-signature'] ?? '').replace(/^sha256=/, '');
    if (!timestamp || !signature) return { status: 401, body: { error: 'unsigned: send X-Sunset-Timestamp and X-Sunset-Signature (sha256=HMAC of "TIMESTAMP.BODY")' } };
    if (!/^\d{9,11}$/.test(timestamp)) return { status: 401, body: { error: 'X-Sunset-Timestamp must be unix seconds' } };
    const expected = createHmac('sha256', settings.webhookSecret).update(`${timestamp}.`).update(req.body).digest('hex');
    if (!constantEqual(expected, signature.toLowerCase())) return { status: 401, body: { error: 'the signature does not match' } };
    if (Math.abs(now - Number(timestamp) * 1000) > WEBHOOK_TOLERANCE_MS) return { status: 401, body: { error: 'stale: the timestamp is more than 5 minutes from now' } };
    if (!(await store.useNonce(req.organizationId, expected, now))) return { status: 409, body: { error: 'replayed: this signed request was already received' } };
  } else {
    const given = req.headers['x-sunset-secret'] ?? req.query.get('secret') ?? '';
    if (given === '') return { status: 401, body: { error: 'no secret: send X-Sunset-Secret or ?secret=' } };
    if (!constantEqual(sha256(given), sha256(settings.webhookSecret))) return { status: 401, body: { error: 'the secret does not match' } };
  }
  return null;
}

/** What a hook reads from a request's body: the event but for what every event has. */
type EventDraft = Pick<WebhookEvent, 'crmAccountId' | 'crmContactId' | 'booksContactId' | 'email' | 'source' | 'status' | 'action' | 'state' | 'lastError'>
  & { dedupeKey: string; subject: string };

/**
 * Checks a hook's request (the organization's webhook mode: a signature or the secret), reads its
 * body with `read`, and stores the event unless it repeats one: 202 for a new event, 200 for one
 * already received. Nothing is applied here.
 */
async function accept(
  store: ServiceStore, bus: EventBus, clock: EngineClock, req: WebhookRequest,
  read: (settings: OrganizationSettings, contentType: string, now: number) => EventDraft | { error: string },
): Promise<WebhookAnswer> {
  const settings = await store.settings(req.organizationId);
  const now = clock.now();
  const refused = await authenticate(store, settings, req, now);
  if (refused) return refused;
  const draft = read(settings, (req.headers['content-type'] ?? 'application/json').toLowerCase(), now);
  if ('error' in draft) return { status: 400, body: { error: draft.error } };
  const event = {
    ...draft,
    eventId: `evt_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
    organizationId: req.organizationId,
    receivedAt: now,
    runId: null,
    attempts: 0,
    nextAttemptAt: now,
    payload: req.body.toString('utf8').slice(0, 4000),
  };
  const stored = await store.addEvent(event);
  if (stored.duplicate) return { status: 200, body: { eventId: stored.event.eventId, state: stored.event.state, duplicate: true } };
  bus.emit({ type: 'webhook', data: { eventId: event.eventId, organizationId: event.organizationId, state: event.state } });
  return { status: 202, body: { eventId: event.eventId, state: event.state } };
}

/**
 * The key that makes a sender's retry of the same logical event collapse into the first: the
 * event id it names, or the contact, status and event time (without one, the hour).
 */
function dedupeKey(named: string | undefined, parts: string[], eventTime: string | undefined, now: number): string {
  return named !== undefined ? `id:${named}` : `k:${sha256([...parts, eventTime ?? String(Math.floor(now / 3_600_000))].join('|'))}`;
}

/** `POST /hooks/crm/:org`: checks, stores and answers one CRM webhook request. */
export function acceptWebhook(store: ServiceStore, bus: EventBus, clock: EngineClock, req: WebhookRequest): Promise<WebhookAnswer> {
  return accept(store, bus, clock, req, (settings, contentType, now) => {
    const parsed = parsePayload(req.body, contentType);
    if ('error' in parsed) return parsed;
    const mapping = req.mapping ?? settings.mapping;
    const action = actionFor(parsed.status, mapping);
    return {
      crmAccountId: parsed.account ?? null,
      crmContactId: parsed.contact ?? null,
      booksContactId: parsed.books ?? null,
      email: null,
      source: 'crm',
      status: parsed.status,
      action,
      state: action === null ? 'ignored' : 'accepted',
      lastError: action === null ? `status "${parsed.status}" is not in the mapping (inactive: ${mapping.inactive.join(', ')}; active: ${mapping.active.join(', ')})` : null,
      dedupeKey: dedupeKey(parsed.eventId, [parsed.books ?? '', parsed.account ?? '', parsed.contact ?? '', parsed.status.toLowerCase()], parsed.eventTime, now),
      subject: [parsed.books ?? '', parsed.account ?? '', parsed.contact ?? ''].join('|'),
    };
  });
}

/**
 * A signal from another platform (docs/service.md, "Signals"): a JSON object (or a form) with
 * `status` `active` or `inactive`, the contact named by `books_contact_id`, `crm_account_id`,
 * `crm_contact_id` or `email`, and optionally `event_id`, `event_time` and `source` (a name for
 * the audit trail: `shopify`, `stripe`, ...).
 */
export function parseSignal(body: Buffer, contentType: string): (ParsedPayload & { status: 'active' | 'inactive'; source: string }) | { error: string } {
  const parsed = parsePayload(body, contentType, { signal: true });
  if ('error' in parsed) return parsed;
  const status = parsed.status.toLowerCase();
  if (status !== 'active' && status !== 'inactive') return { error: 'status must be "active" or "inactive"' };
  return { ...parsed, status, source: parsed.source ?? 'signal' };
}

/** `POST /hooks/signal/:org`: checks, stores and answers one signal, under the CRM hook's rules. */
export function acceptSignal(store: ServiceStore, bus: EventBus, clock: EngineClock, req: WebhookRequest): Promise<WebhookAnswer> {
  return accept(store, bus, clock, req, (_settings, contentType, now) => {
    const parsed = parseSignal(req.body, contentType);
    if ('error' in parsed) return parsed;
    const subject = [parsed.books ?? '', parsed.account ?? '', parsed.contact ?? '', parsed.email ?? ''].join('|');
    return {
      crmAccountId: parsed.account ?? null,
      crmContactId: parsed.contact ?? null,
      booksContactId: parsed.books ?? null,
      email: parsed.email ?? null,
      source: parsed.source,
      status: parsed.status,
      action: parsed.status === 'active' ? 'activate' : 'deactivate',
      state: 'accepted',
      lastError: null,
      // A platform's event ids are its own: two platforms may both send "1001".
      dedupeKey: dedupeKey(parsed.eventId === undefined ? undefined : `${parsed.source}:${parsed.eventId}`, [subject, parsed.status], parsed.eventTime, now),
      subject: `signal:${subject}`,
    };
  });
}

export interface ProcessorOptions {
  store: ServiceStore;
  journal: Journal;
  port(organizationId: string): BooksPort;
  clock: EngineClock;
  bus: EventBus;
  owner: string;
  isDead?: (owner: string) => boolean;
  maxAttempts?: number;
  logger?: ServiceLogger;
  /** Crash injection for the crash suite (`SUNSET_FAILPOINT` of `sunset serve`). */
  failpoint?: Failpoint;
  /** The lease of a CRM run's step being applied (the engine's default, 10 minutes, when absent). */
  stepLeaseMs?: number;
}

/**
 * Applies accepted events, a batch per organization: find the Books contact, record the run id on
 * the events, make the `crm` run (same id) in the journal, apply it, then settle each event from
 * its step. A crash anywhere resumes from what is stored: events already holding a run id rebuild
 * that run if it does not exist yet, or resume it.
 */
/**
 * One pass of a queue job (`sunset worker`): only the organization's events, leased under the
 * job's attempt (`owner`); `isDead` says which other holders are over (the queue lets one such job
 * of an organization be active, so another job's holder is one that ended or lapsed).
 */
export interface ProcessScope {
  organizationId: string;
  owner: string;
  isDead: (holder: string) => boolean;
}

export interface WebhookProcessor {
  /** Applies the due events (all organizations; or, given a scope, one organization's); returns how many were taken. */
  processDue(scope?: ProcessScope): Promise<number>;
}

export function createWebhookProcessor(options: ProcessorOptions): WebhookProcessor {
  const { store, journal, clock, bus } = options;
  const maxAttempts = options.maxAttempts ?? 8;
  const emit = (e: WebhookEvent, state: WebhookState): void => bus.emit({ type: 'webhook', data: { eventId: e.eventId, organizationId: e.organizationId, state } });

  const retryLater = async (e: WebhookEvent, error: unknown): Promise<void> => {
    const attempts = e.attempts + 1;
    const message = error instanceof Error ? error.message : String(error);
    if (attempts >= maxAttempts) {
      await store.updateEvent(e.eventId, { state: 'failed', attempts, lastError: message });
      emit(e, 'failed');
    } else {
      await store.updateEvent(e.eventId, { attempts, lastError: message, nextAttemptAt: clock.now() + Math.min(3_600_000, 5_000 * 2 ** attempts) });
    }
  };

  // Every pass that settles an event counts as one of its attempts, as a failed one does in
  // retryLater: an event applied at its first try shows 1, not 0.
  const settleRun = async (runId: string, events: WebhookEvent[]): Promise<void> => {
    const steps = new Map((await journal.steps(runId)).map((s) => [s.contactId, s]));
    const settled: Array<{ e: WebhookEvent; state: WebhookState; fields: EventFields }> = [];
    for (const e of events) {
      const step = e.booksContactId ? steps.get(e.booksContactId) : undefined;
      if (!step) continue;
      if (step.state === 'done') {
        const state = step.outcome === 'changed' ? 'applied' : 'unchanged';
        settled.push({ e, state, fields: { state, attempts: e.attempts + 1, lastError: null } });
      } else if (step.state === 'skipped' || step.state === 'failed') {
        settled.push({ e, state: 'failed', fields: { state: 'failed', attempts: e.attempts + 1, lastError: step.skipReason ?? step.lastError ?? 'not applied' } });
      }
    }
    // One commit for the whole run's events: under a burst, a commit per event competed with the
    // acceptance of new ones (docs/benchmarks.md, "CRM webhooks under load").
    await store.updateEvents(settled.map(({ e, fields }) => ({ eventId: e.eventId, fields })));
    for (const { e, state } of settled) emit(e, state);
  };

  // Each pass drives its CRM runs under a name of its own (the process's owner and the pass): a
  // pass that failed midway (the database went away) left steps in flight, and the next pass of
  // this same process, knowing that pass is over, takes them at once instead of waiting on them.
  let pass = 0;
  let passOwner = options.owner;
  const passIsDead = (holder: string): boolean =>
    options.isDead?.(holder) === true || (holder !== passOwner && holder.startsWith(`${options.owner}:p`));

  return {
    async processDue(scope) {
      passOwner = scope ? scope.owner : `${options.owner}:p${++pass}`;
      const isDead = scope ? (holder: string): boolean => options.isDead?.(holder) === true || scope.isDead(holder) : passIsDead;
      // Signatures older than the tolerance can no longer be replayed (the timestamp check refuses them).
      if (!scope) await store.pruneNonces(clock.now() - 2 * WEBHOOK_TOLERANCE_MS);
      const due = await store.claimDueEvents({
        now: clock.now(), limit: 500, owner: scope ? scope.owner : options.owner, leaseMs: EVENT_LEASE_MS, isDead,
        ...(scope ? { organizationId: scope.organizationId } : {}),
      });
      if (due.length === 0) return 0;
      const byOrganization = new Map<string, WebhookEvent[]>();
      for (const e of due) byOrganization.set(e.organizationId, [...(byOrganization.get(e.organizationId) ?? []), e]);
      for (const [organizationId, events] of byOrganization) {
        let port: BooksPort;
        try {
          port = options.port(organizationId);
        } catch (error) {
          // No connection reaches it now (its connection was removed): its events wait, leased, for one that does.
          options.logger?.warn({ organizationId, events: events.length, error: errorText(error) }, 'CRM events wait: no connection reaches their organization');
          continue;
        }
        // 1. Events already tied to a run: make sure the run exists, then resume it.
        const byRun = new Map<string, WebhookEvent[]>();
        for (const e of events.filter((x) => x.state === 'processing' && x.runId)) byRun.set(e.runId!, [...(byRun.get(e.runId!) ?? []), e]);
        // 2. New events: find their Books contacts (reads only), then record what was found and
        // tie the found ones to a new run, all in one commit: crash before it and the lookups are
        // simply made again; after it, step 1 picks the run up.
        const fresh: WebhookEvent[] = [];
        const names = new Map<string, { name: string; type: 'customer' | 'vendor' }>();
        const decided: Array<{ e: WebhookEvent; state: WebhookState; fields: EventFields }> = [];
        const retry: Array<{ e: WebhookEvent; error: unknown }> = [];
        for (const e of events.filter((x) => x.state === 'accepted')) {
          if (e.booksContactId) {
            fresh.push(e);
            continue;
          }
          try {
            // A CRM id when the event names one, else (a signal) the e-mail.
            const byEmail = !e.crmAccountId && !e.crmContactId ? e.email : null;
            const found = await port.findContacts(byEmail
              ? { email: byEmail }
              : { zcrmAccountId: e.crmAccountId ?? undefined, zcrmContactId: e.crmContactId ?? undefined });
            if (found.length === 0) {
              const lastError = byEmail
                ? `no Books contact has the e-mail ${byEmail}`
                : `no Books contact is linked to CRM ${e.crmAccountId ? `account ${e.crmAccountId}` : `contact ${e.crmContactId}`}`;
              decided.push({ e, state: 'unmatched', fields: { state: 'unmatched', attempts: e.attempts + 1, lastError } });
              continue;
            }
            if (found.length > 1) {
              const lastError = byEmail
                ? `${found.length} Books contacts have the e-mail ${byEmail}; change them by hand`
                : `${found.length} Books contacts are linked to that CRM record; change them by hand`;
              decided.push({ e, state: 'failed', fields: { state: 'failed', attempts: e.attempts + 1, lastError } });
              continue;
            }
            e.booksContactId = found[0]!.contactId;
            names.set(e.booksContactId, { name: found[0]!.contactName, type: found[0]!.contactType });
            fresh.push(e);
          } catch (error) {
            // Zoho refused the lookup itself (a CRM id it does not accept): trying again cannot help.
            if ((error as { kind?: unknown }).kind === 'validation') {
              decided.push({ e, state: 'failed', fields: { state: 'failed', attempts: e.attempts + 1, lastError: error instanceof Error ? error.message : String(error) } });
            } else retry.push({ e, error });
          }
        }
        // The last status per contact wins; earlier events of that contact share its run.
        const runId = fresh.length > 0 ? `run-crm-${clock.now().toString(36)}-${randomUUID().slice(0, 6)}` : '';
        await store.updateEvents([
          ...decided.map(({ e, fields }) => ({ eventId: e.eventId, fields })),
          ...fresh.map((e) => ({ eventId: e.eventId, fields: { booksContactId: e.booksContactId, state: 'processing' as const, runId } })),
        ]);
        for (const { e, state } of decided) emit(e, state);
        for (const { e, error } of retry) await retryLater(e, error);
        if (fresh.length > 0) {
          for (const e of fresh) {
            e.state = 'processing';
            e.runId = runId;
          }
          byRun.set(runId, fresh);
        }
        for (const [runId, runEvents] of byRun) {
          try {
            if (!(await journal.getRun(runId))) {
              const last = new Map<string, WebhookEvent>();
              for (const e of [...runEvents].sort((a, b) => a.receivedAt - b.receivedAt)) if (e.booksContactId && e.action) last.set(e.booksContactId, e);
              await journal.createRun(
                { runId, organizationId, target: port.target, kind: 'crm', planId: null, undoOf: null, createdAt: clock.now(), createdBy: 'crm-webhook', baselineAt: Math.min(...runEvents.map((e) => e.receivedAt)), note: `${runEvents.length} CRM event(s)` },
                [...last.values()].map((e) => ({
                  contactId: e.booksContactId!, contactName: names.get(e.booksContactId!)?.name ?? '', contactType: names.get(e.booksContactId!)?.type ?? 'customer', action: e.action!,
                  reason: e.source === 'crm'
                    ? `CRM ${e.crmAccountId ? `account ${e.crmAccountId}` : e.crmContactId ? `contact ${e.crmContactId}` : 'event'} is "${e.status}" (${e.eventId})`
                    : `${e.source} says ${describeSubject(e)} is ${e.status} (${e.eventId})`, evidence: null,
                })),
              );
            }
            // A lapsed job's steps are taken once their leases lapse (a frozen worker may still be
            // calling Zoho), never at once as its events are.
            const result = await applyRun({
              journal, port, runId, owner: passOwner, clock, isDead: scope ? (holder: string) => options.isDead?.(holder) === true : passIsDead,
              ...(options.stepLeaseMs !== undefined ? { leaseMs: options.stepLeaseMs } : {}),
              ...(options.failpoint ? { failpoint: options.failpoint } : {}),
            });
            if (result.counts.pending + result.counts.inFlight > 0) throw new Error('the run did not finish');
            await settleRun(runId, runEvents);
          } catch (error) {
            options.logger?.warn({ runId, organizationId, error: errorText(error) }, 'CRM run failed; its events are tried again later');
            for (const e of runEvents) await retryLater(e, error);
          }
        }
      }
      return due.length;
    },
  };
}
