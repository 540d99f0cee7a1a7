/**
 * `sunset serve`: the web UI and its API behind a sign-in, the CRM webhook endpoint, schedules,
 * health and metrics — one long-running process on node:http.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isOrganizationId } from '../zoho/index.js';
import {
  contactAppUrl, createRunFromPlan, createUndoRun, defaultPolicyText, describeDriver, describeTarget, parsePolicy, PolicyError, RunExistsError, RunInputError,
  runStatus, type BooksPort, type EngineClock, type Evidence, type Failpoint, type Journal, type Plan, type RunRecord,
} from '../engine/index.js';
import { describeLastActivity } from '../engine/report/index.js';
import { auditToCsv, auditToJson } from '../engine/report/index.js';
import { CronError, describeCron, nextRun, parseCron, type Cron } from './cron.js';
import { createEventBus, type EventBus } from './events.js';
import { renderMetrics } from './metrics.js';
import { verifyPassword } from './passwords.js';
import { createRunner, type Runner } from './runner.js';
import { createScheduler } from './scheduler.js';
import { createServiceStore, newToken, sha256, type ServiceStore, type WebhookMapping } from './store.js';
import { acceptWebhook, createWebhookProcessor, WEBHOOK_MAX_BODY } from './webhooks.js';
import { fileMappingFor, type MappingFile } from './mapping-file.js';

export interface ServiceConnection {
  /** What it reaches (`zoho:EU`, `emulator:URL`, `embedded`): the service works only on runs and plans made there. */
  target: string;
  port(organizationId: string): BooksPort;
  organizations(): Promise<Array<{ organizationId: string; name: string; plan: string }>>;
  stats(): { apiCalls: number; rateLimited: number };
}

export interface ServiceOptions {
  journal: Journal;
  connection: ServiceConnection;
  clock?: EngineClock;
  /** Lease owner name of this process. */
  owner: string;
  isDead?: (owner: string) => boolean;
  /** Lets Prometheus scrape /metrics with `Authorization: Bearer <token>`. */
  metricsToken?: string;
  sessionTtlMs?: number;
  /** Mark cookies Secure (behind HTTPS). */
  secureCookies?: boolean;
  /** Where app.html, login.html, app.js and app.css are. */
  uiDir: string;
  /** Crash injection for the crash suite: where CRM runs kill the process (SUNSET_FAILPOINT). */
  failpoint?: Failpoint;
  /** `--public-url`: the address users and the CRM reach the service by (behind a proxy). */
  publicUrl?: string;
  /** `--crm-mapping FILE`: the CRM values that mean inactive/active, for the organizations it names (or all). */
  mappingFile?: MappingFile;
  /** How often to apply accepted CRM events (default 1 s) and check schedules (default 30 s); 0 turns a loop off (tests drive it). */
  webhookIntervalMs?: number;
  scheduleIntervalMs?: number;
  log?: (message: string) => void;
}

export interface Service {
  readonly store: ServiceStore;
  readonly bus: EventBus;
  readonly runner: Runner;
  /**
   * Serves on `server` when given (already listening: `sunset serve` binds its port before it opens
   * the journal, so a taken port fails before anything is touched), else on a new one at host:port.
   */
  listen(options: { host?: string; port?: number; server?: Server }): Promise<{ origin: string; server: Server }>;
  /** Applies due CRM events now (the background loop does it every second). */
  processWebhooks(): Promise<number>;
  /** Checks the schedules now. */
  tick(): Promise<string[]>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

const SESSION_COOKIE = 'sunset_session';

/** A scrypt hash of a random password, checked against when the user does not exist. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/**
 * The Host headers the service answers to: on a loopback address, its loopback names and port
 * (plus --public-url's host); on any other address only when --public-url names it (null: any).
 */
function hostsFor(address: AddressInfo, publicUrl: string | undefined): Set<string> | null {
  const hosts = new Set<string>();
  if (publicUrl) hosts.add(new URL(publicUrl).host.toLowerCase());
  const loopback = address.address === '127.0.0.1' || address.address === '::1' || address.address.startsWith('127.');
  if (loopback) {
    for (const name of ['127.0.0.1', 'localhost', '[::1]', address.family === 'IPv6' ? `[${address.address}]` : address.address]) hosts.add(`${name}:${address.port}`);
    return hosts;
  }
  return publicUrl ? hosts : null;
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // Not percent-encoding: a cookie that is not ours, or a forged one; ignored.
    }
  }
  return out;
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new HttpError(413, `the body is larger than ${max} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, 1024 * 1024);
  if (body.length === 0) return {};
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'the body must be a JSON object');
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': typeof body === 'string' && !headers['content-type'] ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function createService(options: ServiceOptions): Service {
  const { journal, connection } = options;
  const clock: EngineClock = options.clock ?? { now: Date.now, sleep: (ms, signal) => new Promise((r, j) => { const t = setTimeout(r, ms); signal?.addEventListener('abort', () => { clearTimeout(t); j(signal.reason); }, { once: true }); }) };
  const store = createServiceStore(journal.db);
  const bus = createEventBus();
  const log = options.log ?? (() => undefined);
  const runner = createRunner({ journal, port: (o) => connection.port(o), clock, bus, owner: options.owner, isDead: options.isDead, log });
  const processor = createWebhookProcessor({ store, journal, port: (o) => connection.port(o), clock, bus, owner: options.owner, isDead: options.isDead, log, ...(options.failpoint ? { failpoint: options.failpoint } : {}) });
  const scheduler = createScheduler({ store, journal, runner, clock, log });
  const sessionTtl = options.sessionTtlMs ?? 12 * 3_600_000;
  let httpRequests = 0;
  /** Sign-in attempts per address in the last minute: failed ones and those still being checked. */
  const loginFailures = new Map<string, Array<{ at: number }>>();
  const timers: NodeJS.Timeout[] = [];
  let ready: Promise<void> | undefined;
  let processing: Promise<number> | undefined;
  const ui = (file: string): string => readFileSync(join(options.uiDir, file), 'utf8');

  let orgCache: { at: number; list: Array<{ organizationId: string; name: string; plan: string }> } | undefined;
  const organizations = async (): Promise<Array<{ organizationId: string; name: string; plan: string }>> => {
    if (!orgCache || clock.now() - orgCache.at > 300_000) orgCache = { at: clock.now(), list: await connection.organizations() };
    return orgCache.list;
  };
  const requireOrg = async (id: string): Promise<void> => {
    if (!isOrganizationId(id) || !(await organizations()).some((o) => o.organizationId === id)) throw new HttpError(404, `no organization ${id} is reachable`);
  };

  const processWebhooks = async (): Promise<number> => {
    processing ??= processor.processDue().finally(() => {
      processing = undefined;
    });
    return processing;
  };

  // A saved plan never changes, so the review page's requests (the plan, its rows, approval) share
  // one parsed copy: a 10,000-step plan is parsed once, not once per request. The latest few only.
  const planCache = new Map<string, { plan: Plan; rowsJson?: string }>();
  const cachedPlan = async (planId: string): Promise<{ plan: Plan; rowsJson?: string } | undefined> => {
    const hit = planCache.get(planId);
    if (hit) {
      planCache.delete(planId);
      planCache.set(planId, hit);
      return hit;
    }
    const plan = await journal.getPlan(planId);
    if (!plan) return undefined;
    const entry = { plan };
    planCache.set(planId, entry);
    while (planCache.size > 4) planCache.delete(planCache.keys().next().value!);
    return entry;
  };

  /** The mapping an organization's webhooks use: the mapping file's, when it names one, else the saved one. */
  const mappingView = (org: string, saved: WebhookMapping): { mapping: WebhookMapping; mappingFile: string | null } => {
    const fromFile = fileMappingFor(options.mappingFile, org);
    return fromFile ? { mapping: fromFile, mappingFile: options.mappingFile!.path } : { mapping: saved, mappingFile: null };
  };

  /** A run or plan made elsewhere (another emulator, another data centre) is not this service's to touch. */
  const requireHere = (what: string, target: string): void => {
    if (target !== '' && target !== connection.target) {
      throw new HttpError(409, `${what} was made against ${describeTarget(target)}; this service reaches ${describeTarget(connection.target)}`);
    }
  };
  /** Refuses to drive a run another live process drives (the CLI, another service). */
  const requireUndriven = (run: RunRecord): void => {
    if (run.driver && run.driver.owner !== options.owner && runStatus(run, clock.now(), options.isDead) === 'running') {
      throw new HttpError(409, `run ${run.runId} is being applied by ${describeDriver(run.driver)}`);
    }
  };
  const runView = (run: RunRecord): RunRecord & { status: string; applying: boolean } => ({
    ...run, status: runStatus(run, clock.now(), options.isDead),
    // This service has a job applying it (or about to): Stop reaches that job. A pending or
    // interrupted run without one waits for Resume or the next start.
    applying: runner.activeJobs().some((j) => j.runId === run.runId && j.kind === 'apply'),
  });

  const orgView = async (o: { organizationId: string; name: string; plan: string }): Promise<Record<string, unknown>> => {
    const s = await store.settings(o.organizationId);
    const policyText = (await journal.policy(o.organizationId))?.text ?? null;
    let problems: unknown[] = [];
    if (policyText) {
      try {
        parsePolicy(policyText, 'policy');
      } catch (error) {
        if (error instanceof PolicyError) problems = error.problems;
      }
    }
    const snapshot = await journal.latestSnapshot(o.organizationId);
    // Through the plan cache: the organizations page is reloaded on every job event.
    const latestId = await journal.latestPlanId(o.organizationId);
    const plan = latestId === undefined ? undefined : (await cachedPlan(latestId))?.plan;
    const planRun = plan ? (await journal.listRuns(o.organizationId)).find((r) => r.planId === plan.planId) : undefined;
    const q = connection.port(o.organizationId).quota();
    const job = runner.activeJobs().find((j) => j.organizationId === o.organizationId);
    return {
      organizationId: o.organizationId, name: o.name, plan: o.plan,
      target: connection.target,
      // Where a contact of this organization opens in Zoho Books (append its id); null on an emulator.
      contactUrl: contactAppUrl(connection.target, o.organizationId, ''),
      // Until one is saved, `draft` is the starter policy with every default written out.
      policy: policyText ? { text: policyText, problems, saved: true } : { text: '', problems, saved: false, draft: defaultPolicyText(o.organizationId) },
      schedule: { cron: s.cron, autoApplyMax: s.autoApplyMax, nextRunAt: scheduler.nextRunAt(s.cron, s.lastScheduledAt), lastRunAt: s.lastRunAt, description: scheduler.describe(s.cron) },
      webhook: { mode: s.webhookMode, configured: s.webhookSecret !== null, ...mappingView(o.organizationId, s.mapping) },
      latestSnapshot: snapshot ? { snapshotId: snapshot.snapshotId, takenAt: snapshot.takenAt, contactCount: snapshot.contactCount, apiCalls: snapshot.apiCalls } : null,
      latestPlan: plan ? { planId: plan.planId, asOf: plan.asOf, steps: plan.steps.length, excluded: plan.excluded.length, runId: planRun?.runId ?? null } : null,
      quota: q.remaining === undefined ? null : { remaining: q.remaining, limit: q.limit, resetAt: q.resetAt },
      activeJob: job ? { kind: job.kind, id: job.runId ?? job.jobId } : null,
    };
  };

  type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; params: string[]; query: URLSearchParams; user: string }) => Promise<void>;
  const api: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  const route = (method: string, pattern: string, handler: Handler): void => {
    api.push({ method, pattern: new RegExp(`^${pattern.replace(/:[a-z]+/g, '([^/]+)')}$`), handler });
  };

  route('GET', '/api/orgs', async ({ res }) => send(res, 200, await Promise.all((await organizations()).map(orgView))));
  route('PUT', '/api/orgs/:org/policy', async ({ req, res, params, user }) => {
    const org = params[0]!;
    await requireOrg(org);
    const body = await readJson(req);
    if (typeof body.text !== 'string') throw new HttpError(400, 'send {"text": "<the policy>"}');
    try {
      const policy = parsePolicy(body.text, 'policy');
      if (policy.organizationId !== org) throw new HttpError(400, `the policy names organization ${policy.organizationId}, not ${org}`, { problems: [] });
    } catch (error) {
      if (error instanceof PolicyError) throw new HttpError(400, 'the policy is not usable; nothing was saved', { problems: error.problems });
      throw error;
    }
    await journal.savePolicy({ organizationId: org, text: body.text, updatedAt: clock.now(), updatedBy: user });
    send(res, 200, { policy: { text: body.text, problems: [], saved: true } });
  });
  route('PUT', '/api/orgs/:org/schedule', async ({ req, res, params }) => {
    const org = params[0]!;
    await requireOrg(org);
    const body = await readJson(req);
    const cron = body.cron === null || body.cron === undefined || body.cron === '' ? null : body.cron;
    if (cron !== null) {
      if (typeof cron !== 'string') throw new HttpError(400, 'cron must be a string like "0 2 * * *" or null');
      try {
        parseCron(cron);
      } catch (error) {
        if (error instanceof CronError) throw new HttpError(400, `cron: ${error.message}`);
        throw error;
      }
    }
    const max = body.autoApplyMax === null || body.autoApplyMax === undefined ? null : body.autoApplyMax;
    if (max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) throw new HttpError(400, 'autoApplyMax must be a whole number of at least 1, or null');
    const s = await store.settings(org);
    if (cron !== null && !(await journal.policy(org))) throw new HttpError(400, 'save a policy first: a schedule scans and plans with it');
    // A new cron counts its next run from now (so it does not fire at once for a time already
    // past); that is not a run, so lastRunAt stays as it was.
    await store.saveSettings({ ...s, cron: cron as string | null, autoApplyMax: max as number | null, lastScheduledAt: cron === s.cron ? s.lastScheduledAt : clock.now() });
    send(res, 200, await orgView((await organizations()).find((o) => o.organizationId === org)!));
  });
  // The settings page's cron helper asks here as the user types: the parser that Save uses says
  // whether the expression is valid, what it means and when it would run (never a description of
  // an expression Save would refuse).
  route('GET', '/api/cron', async ({ res, query }) => {
    const expr = query.get('expr');
    if (expr === null) throw new HttpError(400, 'send ?expr=<a cron expression>, e.g. ?expr=0+2+*+*+*');
    let cron: Cron;
    try {
      cron = parseCron(expr);
    } catch (error) {
      if (error instanceof CronError) return send(res, 200, { valid: false, error: error.message });
      throw error;
    }
    const next: number[] = [];
    for (let t = nextRun(cron, clock.now()); t !== undefined && next.length < 3; t = nextRun(cron, t)) next.push(t);
    send(res, 200, { valid: true, expression: cron.text, description: describeCron(cron), next });
  });
  route('PUT', '/api/orgs/:org/webhook', async ({ req, res, params }) => {
    const org = params[0]!;
    await requireOrg(org);
    const body = await readJson(req);
    const s = await store.settings(org);
    const mode = body.mode ?? s.webhookMode ?? 'hmac';
    if (mode !== 'hmac' && mode !== 'secret') throw new HttpError(400, 'mode must be "hmac" or "secret"');
    let mapping = s.mapping;
    if (body.mapping !== undefined && fileMappingFor(options.mappingFile, org)) {
      throw new HttpError(409, `the CRM mapping of organization ${org} comes from ${options.mappingFile!.path}: change it there and restart the service`);
    }
    if (body.mapping !== undefined) {
      const m = body.mapping as Record<string, unknown>;
      const list = (v: unknown, name: string): string[] => {
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '' || x.length > 200)) throw new HttpError(400, `mapping.${name} must be a list of CRM values`);
        return (v as string[]).map((x) => x.trim());
      };
      mapping = { inactive: list(m?.inactive, 'inactive'), active: list(m?.active, 'active') };
      const both = mapping.inactive.filter((v) => mapping.active.some((a) => a.toLowerCase() === v.toLowerCase()));
      if (both.length > 0) throw new HttpError(400, `${both.join(', ')} cannot mean both inactive and active`);
    }
    let secret: string | undefined;
    if (body.rotateSecret === true || !s.webhookSecret) secret = newToken(32);
    await store.saveSettings({ ...s, webhookMode: mode, mapping, webhookSecret: secret ?? s.webhookSecret });
    send(res, 200, { webhook: { mode, configured: true, ...mappingView(org, mapping) }, ...(secret ? { secret } : {}) });
  });
  route('POST', '/api/orgs/:org/scan', async ({ res, params }) => {
    const org = params[0]!;
    await requireOrg(org);
    const policy = await journal.policy(org);
    if (!policy) throw new HttpError(400, 'save a policy for this organization first');
    const { jobId } = runner.scanAndPlan(org, policy.text);
    send(res, 202, { jobId });
  });
  route('GET', '/api/plans/:plan', async ({ res, params }) => {
    const plan = (await cachedPlan(params[0]!))?.plan;
    if (!plan) throw new HttpError(404, `no plan ${params[0]}`);
    const run = (await journal.listRuns(plan.organizationId)).find((r) => r.planId === plan.planId);
    const { steps: _steps, excluded: _excluded, ...rest } = plan;
    send(res, 200, { plan: rest, runId: run?.runId ?? null, run: run ? runView(run) : null, contactUrl: contactAppUrl(plan.target || connection.target, plan.organizationId, '') });
  });
  route('GET', '/api/plans/:plan/rows', async ({ res, params }) => {
    const entry = await cachedPlan(params[0]!);
    if (!entry) throw new HttpError(404, `no plan ${params[0]}`);
    if (entry.rowsJson !== undefined) return send(res, 200, entry.rowsJson, { 'content-type': 'application/json; charset=utf-8' });
    const plan = entry.plan;
    const row = (s: { contactId: string; contactName: string; contactType: string; evidence: Evidence }, effect: string, reasons: string, detail: string): unknown[] => [
      s.contactId, s.contactName, s.contactType, effect, reasons, s.evidence.lastActivityDate, s.evidence.lastActivityType,
      s.evidence.receivable, s.evidence.payable, s.evidence.unusedCreditsReceivable + s.evidence.unusedCreditsPayable, s.evidence.createdTime, detail,
      describeLastActivity(s.evidence),
    ];
    entry.rowsJson = JSON.stringify({
      columns: ['contactId', 'contactName', 'contactType', 'effect', 'reasons', 'lastActivityDate', 'lastActivityType', 'receivable', 'payable', 'credits', 'createdTime', 'detail', 'lastActivity'],
      rows: [
        ...plan.steps.map((s) => row(s, s.action, s.evidence.rule, s.reason)),
        ...plan.excluded.map((e) => row(e, 'excluded', e.reasons.join(';'), e.detail)),
      ],
    });
    send(res, 200, entry.rowsJson, { 'content-type': 'application/json; charset=utf-8' });
  });
  route('POST', '/api/plans/:plan/approve', async ({ req, res, params, user }) => {
    const plan = (await cachedPlan(params[0]!))?.plan;
    if (!plan) throw new HttpError(404, `no plan ${params[0]}`);
    const body = await readJson(req);
    const exclude = body.exclude ?? [];
    if (!Array.isArray(exclude) || exclude.some((id) => typeof id !== 'string')) throw new HttpError(400, 'exclude must be a list of contact ids (strings)');
    requireHere(`plan ${plan.planId}`, plan.target);
    const earlier = (await journal.listRuns(plan.organizationId)).find((r) => r.planId === plan.planId);
    if (earlier) throw new HttpError(409, `this plan was already approved: run ${earlier.runId}`, { runId: earlier.runId });
    const excluded = new Set(exclude as string[]);
    const steps = plan.steps.filter((s) => !excluded.has(s.contactId));
    if (steps.length === 0) throw new HttpError(400, 'every step is excluded: nothing to apply');
    let run;
    try {
      run = await createRunFromPlan(journal, { ...plan, steps }, user, clock.now());
    } catch (error) {
      // Two approvals racing: the journal's constraint lets one through.
      if (error instanceof RunExistsError) throw new HttpError(409, `this plan was already approved: run ${error.existing.runId}`, { runId: error.existing.runId });
      throw error;
    }
    runner.apply(run.runId);
    send(res, 202, { runId: run.runId });
  });
  route('GET', '/api/runs', async ({ res, query }) => {
    const runs = await journal.listRuns(query.get('org') ?? undefined);
    send(res, 200, await Promise.all(runs.slice(0, 500).map(async (run) => ({ run: runView(run), counts: await journal.runCounts(run.runId) }))));
  });
  route('GET', '/api/runs/:run', async ({ res, params }) => {
    const run = await journal.getRun(params[0]!);
    if (!run) throw new HttpError(404, `no run ${params[0]}`);
    const verification = await journal.latestVerification(run.runId);
    const before = await journal.fingerprintSet(run.runId, 'before');
    send(res, 200, {
      run: runView(run), counts: await journal.runCounts(run.runId), steps: await journal.steps(run.runId),
      verification: verification ?? null, verifiable: before !== undefined, contactUrl: contactAppUrl(run.target || connection.target, run.organizationId, ''),
    });
  });
  route('POST', '/api/runs/:run/undo', async ({ res, params, user }) => {
    const original = await journal.getRun(params[0]!);
    if (!original) throw new HttpError(404, `no run ${params[0]}`);
    requireHere(`run ${original.runId}`, original.target);
    try {
      const { run } = await createUndoRun(journal, params[0]!, user, clock.now());
      runner.apply(run.runId);
      send(res, 202, { runId: run.runId });
    } catch (error) {
      if (error instanceof RunExistsError) throw new HttpError(409, error.message, { runId: error.existing.runId });
      if (error instanceof RunInputError) throw new HttpError(400, error.message);
      throw error;
    }
  });
  route('POST', '/api/runs/:run/resume', async ({ res, params }) => {
    const run = await journal.getRun(params[0]!);
    if (!run) throw new HttpError(404, `no run ${params[0]}`);
    requireHere(`run ${run.runId}`, run.target);
    if (run.state === 'done' || run.state === 'cancelled') throw new HttpError(409, `run ${run.runId} is ${run.state}`);
    if (runner.activeJobs().some((j) => j.runId === run.runId)) throw new HttpError(409, `run ${run.runId} is already running`);
    requireUndriven(run);
    runner.apply(run.runId);
    send(res, 202, { runId: run.runId });
  });
  route('POST', '/api/runs/:run/verify', async ({ res, params }) => {
    const run = await journal.getRun(params[0]!);
    if (!run) throw new HttpError(404, `no run ${params[0]}`);
    requireHere(`run ${run.runId}`, run.target);
    if (!(await journal.hasFingerprint(run.runId, 'before'))) {
      throw new HttpError(409, `run ${run.runId} has no record of its contacts' transactions from before it ran (a CRM or contacts run): there is nothing to compare with`);
    }
    if (runner.activeJobs().some((j) => j.runId === run.runId && j.kind === 'verify')) throw new HttpError(409, `run ${run.runId} is already being verified`);
    const { jobId } = runner.verify(run.runId);
    send(res, 202, { jobId, runId: run.runId });
  });
  route('POST', '/api/runs/:run/stop', async ({ res, params }) => {
    if (!runner.stop(params[0]!)) throw new HttpError(409, `run ${params[0]} is not running`);
    send(res, 202, { runId: params[0] });
  });
  route('GET', '/api/audit', async ({ res, query }) => {
    const rows = await journal.audit({ organizationId: query.get('org') ?? undefined, runId: query.get('run') ?? undefined });
    if (query.get('format') === 'csv') send(res, 200, auditToCsv(rows), { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="sunset-audit.csv"' });
    else send(res, 200, auditToJson(rows));
  });
  route('GET', '/api/webhooks', async ({ res, query }) => send(res, 200, await store.events(query.get('org') ?? undefined, 500)));
  route('GET', '/api/session', async ({ res, req, user }) => {
    const session = await store.session(parseCookies(req.headers.cookie)[SESSION_COOKIE] ?? '', clock.now());
    send(res, 200, { user, csrfToken: session?.csrfToken });
  });

  const sameOrigin = (req: IncomingMessage): boolean => {
    if (req.headers['sec-fetch-site'] === 'cross-site') return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };

  let allowedHosts: Set<string> | null = null;

  const cookie = (value: string, maxAge: number): string =>
    `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${options.secureCookies ? '; Secure' : ''}`;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    httpRequests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/healthz' && method === 'GET') return send(res, 200, { ok: true });
    // DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 reaches this
    // port with its own name as Host (and as Origin, so same-origin checks pass). Answer only to
    // the names this service is known by.
    if (allowedHosts && !allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
      return send(res, 421, { error: `this service does not answer for the host "${req.headers.host ?? ''}"; behind a proxy or under another name, start it with --public-url` });
    }

    const webhook = /^\/hooks\/crm\/([^/]+)$/.exec(path);
    if (webhook) {
      if (method !== 'POST') return send(res, 405, { error: 'use POST' }, { allow: 'POST' });
      if (!isOrganizationId(webhook[1])) return send(res, 404, { error: 'unknown organization' });
      const body = await readBody(req, WEBHOOK_MAX_BODY);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;
      const fromFile = fileMappingFor(options.mappingFile, webhook[1]!);
      const answer = await acceptWebhook(store, bus, clock, { organizationId: webhook[1]!, headers, query: url.searchParams, body, ...(fromFile ? { mapping: fromFile } : {}) });
      if (answer.status === 202) void processWebhooks();
      return send(res, answer.status, answer.body);
    }

    const session = await store.session(parseCookies(req.headers.cookie)[SESSION_COOKIE] ?? '', clock.now());

    if (path === '/metrics' && method === 'GET') {
      const bearer = req.headers.authorization?.replace(/^Bearer\s+/i, '');
      const tokenOk = options.metricsToken !== undefined && bearer !== undefined && sha256(bearer) === sha256(options.metricsToken);
      if (!session && !tokenOk) return send(res, 401, { error: 'sign in, or send the metrics token' });
      const text = await renderMetrics({
        journal, store, organizations: async () => (await organizations()).map((o) => o.organizationId), port: (o) => connection.port(o),
        stats: () => ({ ...connection.stats(), httpRequests }),
      });
      return send(res, 200, text, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    }

    if (path === '/login') {
      if (method === 'GET') return send(res, 200, ui('login.html'), { 'content-type': 'text/html; charset=utf-8' });
      if (method !== 'POST') return send(res, 405, { error: 'use GET or POST' });
      if (!sameOrigin(req)) return send(res, 403, { error: 'cross-site sign-in refused' });
      const ip = req.socket.remoteAddress ?? '';
      const form = new URLSearchParams((await readBody(req, 16 * 1024)).toString('utf8'));
      // Counted before the (slow) password check, with no await between the count and the mark:
      // attempts in flight at once each see the others, so parallel guesses cannot slip past the
      // limit. A failed attempt keeps its mark for the minute; a success removes only its own.
      const attempts = (loginFailures.get(ip) ?? []).filter((a) => a.at > clock.now() - 60_000);
      if (attempts.length >= 10) {
        loginFailures.set(ip, attempts);
        return send(res, 429, { error: 'too many failed sign-ins; wait a minute' });
      }
      const attempt = { at: clock.now() };
      loginFailures.set(ip, [...attempts, attempt]);
      let failed = false;
      try {
        const username = form.get('username') ?? '';
        const user = await store.user(username);
        // An unknown user costs the same scrypt as a known one: timing does not tell which names exist.
        const ok = (await verifyPassword(form.get('password') ?? '', user?.passwordHash ?? DUMMY_HASH)) && user !== undefined;
        if (!ok) {
          failed = true;
          res.writeHead(303, { ...SECURITY_HEADERS, location: '/login?error=1' });
          return void res.end();
        }
        const created = await store.createSession(username, clock.now(), sessionTtl);
        res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': cookie(created.token, Math.floor(sessionTtl / 1000)) });
        return void res.end();
      } finally {
        // Not a failed guess (the right password, or the check itself broke): its own mark goes, no other.
        if (!failed) {
          const left = (loginFailures.get(ip) ?? []).filter((a) => a !== attempt);
          if (left.length > 0) loginFailures.set(ip, left);
          else loginFailures.delete(ip);
        }
      }
    }

    if (path.startsWith('/assets/') && method === 'GET') {
      const file = path.slice('/assets/'.length);
      if (!/^[a-z0-9-]+\.(css|js)$/.test(file)) return send(res, 404, { error: 'not found' });
      // The stylesheet also dresses the sign-in page; everything else needs a session.
      if (!session && !file.endsWith('.css')) return send(res, 401, { error: 'sign in first' });
      let text: string;
      try {
        text = ui(file);
      } catch {
        return send(res, 404, { error: 'not found' });
      }
      return send(res, 200, text, { 'content-type': file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' });
    }

    if (!session) {
      if (path.startsWith('/api/')) return send(res, 401, { error: 'sign in first' });
      res.writeHead(303, { ...SECURITY_HEADERS, location: '/login' });
      return void res.end();
    }

    const changes = method !== 'GET' && method !== 'HEAD';
    if (changes) {
      if (!sameOrigin(req)) return send(res, 403, { error: 'cross-site request refused' });
      let token = req.headers['x-csrf-token'];
      if (path === '/logout' && token === undefined) token = new URLSearchParams((await readBody(req, 4096)).toString('utf8')).get('csrf') ?? undefined;
      if (typeof token !== 'string' || sha256(token) !== sha256(session.csrfToken)) return send(res, 403, { error: 'missing or wrong CSRF token: reload the page' });
    }

    if (path === '/logout' && method === 'POST') {
      await store.deleteSession(parseCookies(req.headers.cookie)[SESSION_COOKIE] ?? '');
      res.writeHead(303, { ...SECURITY_HEADERS, location: '/login', 'set-cookie': cookie('', 0) });
      return void res.end();
    }
    if (path === '/' && method === 'GET') return send(res, 200, ui('app.html'), { 'content-type': 'text/html; charset=utf-8' });
    if (path === '/api/events' && method === 'GET') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      const unsubscribe = bus.subscribe((event) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`));
      const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
      heartbeat.unref();
      req.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
      return;
    }
    for (const r of api) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method !== method) continue;
      const params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new HttpError(400, 'the path is not valid percent-encoding');
        }
      });
      return r.handler({ req, res, params, query: url.searchParams, user: session.username });
    }
    if (api.some((r) => r.pattern.test(path))) return send(res, 405, { error: `${method} is not allowed here` });
    return send(res, 404, { error: 'not found' });
  };

  const service: Service = {
    store,
    bus,
    runner,
    processWebhooks,
    tick: () => scheduler.tick(),
    async listen({ host = '127.0.0.1', port = 8080, server: bound }) {
      ready ??= (async () => {
        await store.migrate(journal);
        // Pick up what a previous process left: runs it was applying or had just approved (pending:
        // a stop between the approval and the first step), CRM events it had accepted. CRM runs are
        // resumed by the webhook processor, from their events; a run made elsewhere is not ours.
        for (const run of await journal.listRuns()) {
          if ((run.state !== 'running' && run.state !== 'pending') || run.kind === 'crm') continue;
          if (run.target !== '' && run.target !== connection.target) {
            log(`run ${run.runId} was made against ${describeTarget(run.target)}, not ${describeTarget(connection.target)}: left for a Sunset connected there`);
            continue;
          }
          if (runStatus(run, clock.now(), options.isDead) === 'running' && run.driver?.owner !== options.owner) {
            log(`run ${run.runId} is being applied by ${describeDriver(run.driver!)}: left to it`);
            continue;
          }
          runner.apply(run.runId);
        }
        void processWebhooks();
        await scheduler.tick();
      })();
      await ready;
      const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
        handle(req, res).catch((error: unknown) => {
          if (res.headersSent) return void res.end();
          if (error instanceof HttpError) return send(res, error.status, { error: error.message, ...error.extra });
          // The path only: a query string may carry a webhook secret.
          log(`error on ${req.method} ${(req.url ?? '').split('?')[0]}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
          send(res, 500, { error: 'internal error; the service log has the details' });
        });
      };
      const server = bound ?? createServer();
      server.removeAllListeners('request');
      server.on('request', onRequest);
      if (!bound) {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => resolve());
        });
      }
      const address = server.address() as AddressInfo;
      allowedHosts = hostsFor(address, options.publicUrl);
      if (options.webhookIntervalMs !== 0) {
        const t = setInterval(() => void processWebhooks().catch((e: unknown) => log(`webhooks: ${String(e)}`)), options.webhookIntervalMs ?? 1_000);
        t.unref();
        timers.push(t);
      }
      if (options.scheduleIntervalMs !== 0) {
        const t = setInterval(() => void scheduler.tick().catch((e: unknown) => log(`schedules: ${String(e)}`)), options.scheduleIntervalMs ?? 30_000);
        t.unref();
        timers.push(t);
      }
      const origin = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      service.close = async () => {
        for (const t of timers) clearInterval(t);
        await runner.close();
        await processing?.catch(() => undefined);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      };
      return { origin, server };
    },
    async close() {
      for (const t of timers) clearInterval(t);
      await runner.close();
    },
  };
  return service;
}
