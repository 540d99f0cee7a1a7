/**
 * What the service's routes share: its parts (journal, store, runner, event bus...), the caches
 * (reachable organizations, the latest plans) and the views and guards more than one route uses.
 * Made once per service by createService; the routes (src/service/routes/) take it as their one
 * argument.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isOrganizationId } from '../zoho/index.js';
import {
  contactAppUrl, defaultPolicyText, describeDriver, describeTarget, parsePolicy, PolicyError, runStatus,
  type EngineClock, type Journal, type Plan, type PolicyProblem, type RunRecord,
} from '../engine/index.js';
import type { OrganizationView, PlanRows, RunView } from './api-types.js';
import type { EventBus } from './events.js';
import { HttpError, type JsonText } from './http.js';
import { fileMappingFor } from './mapping-file.js';
import type { Notifications } from './notifications.js';
import type { Runner } from './runner.js';
import type { Scheduler } from './scheduler.js';
import type { ServiceOptions } from './options.js';
import type { ConnectionSet, ListedOrganization } from './connection-set.js';
import type { ServiceLogger } from './logger.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import type { ServiceStore, WebhookMapping } from './store.js';
import { resolveTimeZone, type TimeZone } from './time-zone.js';
import { seesClient, seesEveryClient, type Access } from './access.js';
import { createZoneLearner } from './zone-learner.js';

/** An organization the service lists: the connection set's listing (src/service/connection-set.ts). */
export type Organization = ListedOrganization;

/** A saved plan, parsed once, and its review rows once made. */
export interface CachedPlan {
  plan: Plan;
  rowsJson?: JsonText<PlanRows>;
}

export interface ServiceContext {
  readonly options: ServiceOptions;
  readonly journal: Journal;
  /** The connections it works through; each organization belongs to one (src/service/connection-set.ts). */
  readonly connections: ConnectionSet;
  readonly clock: EngineClock;
  readonly store: ServiceStore;
  readonly bus: EventBus;
  readonly runner: Runner;
  readonly scheduler: Scheduler;
  readonly notifications: Notifications;
  readonly logger: ServiceLogger;
  /** Requests served so far (sunset_http_requests_total). */
  readonly stats: { httpRequests: number };
  /** This service's Prometheus registry and observers (src/service/metrics.ts). */
  readonly metrics: ServiceMetrics;
  /** Ends each open event stream (the service closes them when it closes). */
  readonly streams: Set<() => void>;
  /** The names the service answers to (null: any); set when it listens. */
  hosts(): ReadonlySet<string> | null;
  /**
   * Applies due CRM events now (one pass at a time); on the cluster's queue, queues their
   * organizations' `crm` jobs instead (only `organizationId`'s when given: an event just accepted).
   */
  processWebhooks(organizationId?: string): Promise<number>;
  /** The organizations the connections reach (kept 5 minutes; 30 s when one failed); their time zones are saved as they come. */
  organizations(): Promise<Organization[]>;
  /** A connection was added, tested or removed: the next request lists the organizations again. */
  connectionsChanged(): void;
  /**
   * Lists the organizations in the background, to learn their time zones (at most once in 5
   * minutes; a failure is logged). The scheduler asks when a schedule's zone is not known yet.
   */
  learnTimeZones(): void;
  /** Resolves once a learnTimeZones in progress has ended (the service waits for it when it closes). */
  timeZonesLearned(): Promise<void>;
  /** An organization's time zone as the schedules use it (saved from Zoho: src/service/time-zone.ts). */
  timeZone(organizationId: string): Promise<TimeZone>;
  /** 404 unless the connection reaches that organization (and, given a user, that user may see it). */
  requireOrganization(organizationId: string, viewer?: Access): Promise<Organization>;
  /** The organizations a user may see (an admin, or a user limited to no client: all). */
  visibleOrganizations(viewer: Access): Promise<Organization[]>;
  /** The ids of the organizations a user may see; undefined when they may see every one (an admin, or a user limited to no client). */
  visibleIds(viewer: Access): Promise<ReadonlySet<string> | undefined>;
  /** Whether a user may see an organization's records (its plans, runs, events, audit rows). */
  canSee(viewer: Access, organizationId: string): Promise<boolean>;
  /** 404 with `notFound` unless the user may see the organization (the same answer as for a record that does not exist). */
  requireVisible(viewer: Access, organizationId: string, notFound: string): Promise<void>;
  /** Writes what a person did to the activity log (src/service/store.ts, actions). */
  recordAction(username: string, action: string, organizationId: string | null, subject: string | null, detail?: Record<string, unknown>): Promise<void>;
  /** A saved plan through the cache of the latest few (undefined: no such plan). */
  cachedPlan(planId: string): Promise<CachedPlan | undefined>;
  /** A run or plan made elsewhere (another emulator, another data centre than its organization's connection) is not this service's to touch: 409. */
  requireHere(what: string, target: string, organizationId?: string): void;
  /** Refuses (409) to drive a run another live process drives (the CLI, another service). */
  requireUndriven(run: RunRecord): void;
  /** The mapping an organization's webhooks use: the mapping file's, when it names one, else the saved one. */
  mappingView(organizationId: string, saved: WebhookMapping): { mapping: WebhookMapping; mappingFile: string | null };
  /** Where a contact opens in Zoho Books (append its id), for something made against `target` ('' : the organization's connection's). */
  contactUrl(target: string, organizationId: string): string | null;
  runView(run: RunRecord): RunView;
  organizationView(organization: Organization): Promise<OrganizationView>;
  /** A file of the UI (src/service/ui), read when asked. */
  ui(file: string): string;
}

export interface ContextParts {
  options: ServiceOptions;
  /** After a connection was added, tested or removed here (on a cluster: tell the other processes). */
  onConnectionsChanged?: () => void;
  connections: ConnectionSet;
  clock: EngineClock;
  store: ServiceStore;
  bus: EventBus;
  runner: Runner;
  scheduler: Scheduler;
  notifications: Notifications;
  logger: ServiceLogger;
  hosts(): ReadonlySet<string> | null;
  processWebhooks(organizationId?: string): Promise<number>;
}

export function createServiceContext(parts: ContextParts): ServiceContext {
  const { options, clock, store, runner, scheduler } = parts;
  const { journal } = options;
  const { connections } = parts;

  // Zoho's time zones are saved as they arrive (src/service/zone-learner.ts): the scheduler and
  // `sunset schedules list` read them there, without calling Zoho.
  let organizationCache: { at: number; list: Organization[] } | undefined;
  const organizations = async (): Promise<Organization[]> => {
    if (!organizationCache || clock.now() - organizationCache.at > (organizationCache.list.some((o) => o.connectionError !== undefined) ? 30_000 : 300_000)) {
      const list = await connections.organizations();
      organizationCache = { at: clock.now(), list };
      await zones.save(list);
    }
    return organizationCache.list;
  };
  // Learning asks Zoho itself (the pages' list above may be minutes old and is saved as it comes).
  const zones = createZoneLearner({ list: () => connections.organizations(), store, clock, logger: parts.logger });
  const canSee = async (viewer: Access, organizationId: string): Promise<boolean> =>
    seesEveryClient(viewer) || seesClient(viewer, (await store.organizationClients()).get(organizationId));
  const timeZone = async (organizationId: string): Promise<TimeZone> => resolveTimeZone((await store.timeZones()).get(organizationId));

  // A saved plan never changes, so the review page's requests (the plan, its rows, approval) share
  // one parsed copy: a 10,000-step plan is parsed once, not once per request. The latest few only.
  const planCache = new Map<string, CachedPlan>();
  const cachedPlan = async (planId: string): Promise<CachedPlan | undefined> => {
    const hit = planCache.get(planId);
    if (hit) {
      planCache.delete(planId);
      planCache.set(planId, hit);
      return hit;
    }
    const plan = await journal.getPlan(planId);
    if (!plan) return undefined;
    const entry: CachedPlan = { plan };
    planCache.set(planId, entry);
    while (planCache.size > 4) planCache.delete(planCache.keys().next().value!);
    return entry;
  };

  const mappingView = (organizationId: string, saved: WebhookMapping): { mapping: WebhookMapping; mappingFile: string | null } => {
    const fromFile = fileMappingFor(options.mappingFile, organizationId);
    return fromFile ? { mapping: fromFile, mappingFile: options.mappingFile!.path } : { mapping: saved, mappingFile: null };
  };

  const runView = (run: RunRecord): RunView => {
    // This service has a job applying it (or about to): Stop reaches that job. A pending or
    // interrupted run without one waits for Resume or the next start.
    const applying = runner.activeJobs().some((j) => j.runId === run.runId && j.kind === 'apply');
    const status = runStatus(run, clock.now(), options.isDead);
    // Resumed a moment ago: the job is on its way to claiming the run, which is no longer interrupted.
    return { ...run, status: applying && status === 'interrupted' ? 'running' : status, applying };
  };

  const organizationView = async (o: Organization): Promise<OrganizationView> => {
    const s = await store.settings(o.organizationId);
    const zone = await timeZone(o.organizationId);
    const policyText = (await journal.policy(o.organizationId))?.text ?? null;
    let problems: PolicyProblem[] = [];
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
    const runs = await journal.listRuns(o.organizationId);
    const planRun = plan ? runs.find((r) => r.planId === plan.planId) : undefined;
    const lastRun = runs[0];
    const client = (await store.organizationClients()).get(o.organizationId) ?? null;
    const q = connections.port(o.organizationId).quota();
    const job = runner.activeJobs().find((j) => j.organizationId === o.organizationId);
    return {
      organizationId: o.organizationId, name: o.name, plan: o.plan, client,
      target: o.target,
      contactUrl: contactAppUrl(o.target, o.organizationId, ''),
      ...(connections.manager ? { connection: o.connection, connectionError: o.connectionError ?? null } : {}),
      // Until one is saved, `draft` is the starter policy with every default written out.
      policy: policyText ? { text: policyText, problems, saved: true } : { text: '', problems, saved: false, draft: defaultPolicyText(o.organizationId) },
      timeZone: zone,
      schedule: {
        cron: s.cron, autoApplyMax: s.autoApplyMax,
        nextRunAt: scheduler.nextRunAt(s.cron, s.lastScheduledAt, zone.zone),
        nextRuns: scheduler.nextRuns(s.cron, s.lastScheduledAt, zone.zone, 3),
        lastRunAt: s.lastRunAt, description: scheduler.describe(s.cron, zone.zone),
      },
      webhook: { mode: s.webhookMode, configured: s.webhookSecret !== null, ...mappingView(o.organizationId, s.mapping) },
      latestSnapshot: snapshot ? { snapshotId: snapshot.snapshotId, takenAt: snapshot.takenAt, contactCount: snapshot.contactCount, apiCalls: snapshot.apiCalls } : null,
      latestPlan: plan ? { planId: plan.planId, asOf: plan.asOf, steps: plan.steps.length, excluded: plan.exclusionCount, runId: planRun?.runId ?? null } : null,
      quota: q.remaining === undefined ? null : { remaining: q.remaining, limit: q.limit, resetAt: q.resetAt },
      activeJob: job ? { kind: job.kind, id: job.runId ?? job.jobId } : null,
      lastRun: lastRun ? { runId: lastRun.runId, kind: lastRun.kind, status: runView(lastRun).status, createdAt: lastRun.createdAt, createdBy: lastRun.createdBy } : null,
    };
  };

  const stats = { httpRequests: 0 };
  const metrics = createServiceMetrics({
    journal, store, organizations: async () => (await organizations()).map((o) => o.organizationId), port: (o) => connections.port(o),
    stats: () => ({ ...connections.stats(), httpRequests: stats.httpRequests }),
  });
  connections.onResponse((info) => metrics.observeZohoCall(info));

  return {
    options, journal, connections, clock, store, bus: parts.bus, runner, scheduler, notifications: parts.notifications, logger: parts.logger,
    stats,
    metrics,
    streams: new Set(),
    hosts: parts.hosts,
    processWebhooks: parts.processWebhooks,
    organizations,
    connectionsChanged() {
      organizationCache = undefined;
      connections.changed();
      parts.onConnectionsChanged?.();
    },
    learnTimeZones: () => zones.learn(),
    timeZonesLearned: () => zones.settled(),
    timeZone,
    async requireOrganization(id, viewer) {
      const found = isOrganizationId(id) ? (await organizations()).find((o) => o.organizationId === id) : undefined;
      if (!found || (viewer && !(await canSee(viewer, id)))) throw new HttpError(404, `no organization ${id} is reachable`);
      return found;
    },
    async visibleOrganizations(viewer) {
      const all = await organizations();
      if (seesEveryClient(viewer)) return all;
      const clients = await store.organizationClients();
      return all.filter((o) => seesClient(viewer, clients.get(o.organizationId)));
    },
    canSee,
    async visibleIds(viewer) {
      if (seesEveryClient(viewer)) return undefined;
      const clients = await store.organizationClients();
      return new Set([...clients].filter(([, client]) => viewer.clients!.includes(client)).map(([id]) => id));
    },
    async requireVisible(viewer, organizationId, notFound) {
      if (!(await canSee(viewer, organizationId))) throw new HttpError(404, notFound);
    },
    async recordAction(username, action, organizationId, subject, detail = {}) {
      await store.recordAction({ at: clock.now(), username, action, organizationId, subject, detail });
    },
    cachedPlan,
    requireHere(what, target, organizationId) {
      const here = organizationId === undefined ? (connections.all().length === 1 ? connections.all()[0] : undefined) : connections.of(organizationId);
      if (target === '' && (here || organizationId === undefined)) return;
      if (!here) throw new HttpError(409, `${what} was made against ${describeTarget(target)}; no connection of this service reaches organization ${organizationId ?? '?'}`);
      if (target !== here.target) {
        throw new HttpError(409, `${what} was made against ${describeTarget(target)}; this service reaches ${describeTarget(here.target)}${here.name ? ` for it (connection ${here.name})` : ''}`);
      }
    },
    requireUndriven(run) {
      if (run.driver && run.driver.owner !== options.owner && runStatus(run, clock.now(), options.isDead) === 'running') {
        throw new HttpError(409, `run ${run.runId} is being applied by ${describeDriver(run.driver)}`);
      }
    },
    mappingView,
    contactUrl: (target, organizationId) => {
      const at = target || connections.of(organizationId)?.target;
      return at ? contactAppUrl(at, organizationId, '') : null;
    },
    runView,
    organizationView,
    ui: (file) => readFileSync(join(options.uiDir, file), 'utf8'),
  };
}
