/**
 * The admin API under `/__emulator/` (JSON in and out). Other people's test suites script against
 * these names, so they are stable:
 *   GET  /__emulator/info       the ready-made credentials and addresses
 *   POST /__emulator/grants     {"scopes": [...], "organization_ids": [...], "client_id"?} → {"code": "..."}
 *   GET  /__emulator/accounts   every account with its credentials and organizations; POST creates one
 *                               {"name"?, "organizations"?: [{"name", "plan", "currency", "timeZone", "contacts"}]}
 *   GET  /__emulator/requests   the request log (?since=SEQ&limit=N&method=M&path_prefix=P); DELETE clears it
 *   GET  /__emulator/faults     the fault rules; POST adds {"faults": [rule | "spec", ...]}; DELETE clears
 *   GET  /__emulator/clock      the emulated time; POST {"advanceSeconds": N} | {"set": "<ISO>"} | {"freeze": bool}
 *   GET  /__emulator/limits     per-organization counters; POST changes the settings
 *   POST /__emulator/tokens/expire  {"access_token": "..."} expires one access token, {} expires all
 *   POST /__emulator/reset      back to the start-up seed (the clock keeps its time)
 *   POST /__emulator/seed       {"seed": "demo"|"empty", "randomSeed": N, "contacts": N}: wipe and seed
 *   GET  /__emulator/check      recomputes every contact's derived amounts from its transactions
 * The admin API is not authenticated: the emulator listens on loopback by default.
 */
import { parseZohoTime } from '../../zoho/index.js';
import type { ApiDefinition } from '../api.js';
import { decodeUtf8 } from '../body.js';
import type { AdminRoute, EmulatorServices, HandlerResult } from '../context.js';
import { AccountSpecError, type AccountSpec } from '../accounts.js';
import { FaultSpecError, validateFaultRule } from '../faults.js';
import { HttpError, ZohoHttpError } from '../http-error.js';
import type { EmulatorRequest } from '../types.js';

export const ADMIN_PATH = '/__emulator';

/** A refusal from the admin API: `{"error": "<what is wrong and what to send>"}`. */
export class AdminError extends HttpError {
  constructor(message: string, status = 400) {
    super(message, status);
  }

  override body(): Record<string, unknown> {
    return { error: this.message };
  }
}

function ok(body: object): HandlerResult {
  return { body };
}

function readBody(req: EmulatorRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8(req.body, 'body'));
  } catch {
    throw new AdminError('the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminError('the body must be a JSON object');
  return value as Record<string, unknown>;
}

function stringArray(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new AdminError(`${name} must be an array of strings`);
  return value as string[];
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new AdminError(`${name} must be a non-negative integer`);
  return Number(raw);
}

function clockState(emulator: EmulatorServices): Record<string, unknown> {
  const now = emulator.clock.now();
  return { now: new Date(now).toISOString(), epochMs: now, frozen: emulator.clock.frozen };
}

const routes: ReadonlyArray<[string, string, AdminRoute]> = [
  ['GET', '/info', { handler: ({ emulator, origin }) => ok(emulator.info(origin)) }],
  ['POST', '/grants', {
    handler({ emulator, req }) {
      const body = readBody(req);
      const scopes = stringArray(body.scopes, 'scopes');
      if (scopes.length === 0) throw new AdminError('scopes must name at least one scope, e.g. ["ZohoBooks.contacts.ALL"]');
      const organizationIds = stringArray(body.organization_ids, 'organization_ids');
      const unknown = organizationIds.filter((id) => !emulator.store.organizations.get(id));
      if (unknown.length > 0) throw new AdminError(`unknown organization_ids: ${unknown.join(', ')}`);
      const clientId = body.client_id === undefined ? emulator.info('').clientId : body.client_id;
      const client = typeof clientId === 'string' ? emulator.store.oauth.getClient(clientId) : undefined;
      if (typeof clientId !== 'string' || !client) throw new AdminError('unknown client_id');
      // A grant reaches only its client's account.
      const foreign = organizationIds.filter((id) => emulator.store.organizations.get(id)?.account_id !== client.account_id);
      if (foreign.length > 0) {
        throw new AdminError(`organization_ids ${foreign.join(', ')} belong to another account than client_id ${clientId}; a grant reaches only its client's account`);
      }
      const code = emulator.authority.createGrant({ clientId, scopes, organizationIds }, emulator.clock.now());
      return ok({ code, client_id: clientId, expires_in: 600 });
    },
  }],
  ['GET', '/accounts', {
    handler: ({ emulator }) => ok({ dataCentre: emulator.dataCentre ?? null, accounts: emulator.accounts() }),
  }],
  ['POST', '/accounts', {
    handler({ emulator, req }) {
      // Checked whole before anything is created (AccountSpecError: 400); created in one transaction.
      return ok(emulator.createAccount(readBody(req) as AccountSpec));
    },
  }],
  ['GET', '/requests', {
    handler({ emulator, req }) {
      return ok(emulator.requestLog.query({
        since: intParam(req.query, 'since'),
        limit: intParam(req.query, 'limit'),
        method: req.query.get('method')?.toUpperCase() || undefined,
        pathPrefix: req.query.get('path_prefix') || undefined,
      }));
    },
  }],
  ['DELETE', '/requests', {
    handler({ emulator }) {
      emulator.requestLog.clear();
      return ok({ cleared: true });
    },
  }],
  ['GET', '/faults', { handler: ({ emulator }) => ok({ faults: emulator.faults.list() }) }],
  ['POST', '/faults', {
    handler({ emulator, req }) {
      const body = readBody(req);
      const list = Array.isArray(body.faults) ? body.faults : body.kind !== undefined ? [body] : undefined;
      if (!list) throw new AdminError('send {"faults": [...]} with rule objects or spec strings like "503,rate=0.1"');
      const rules = list.map((item: unknown) => validateFaultRule(item));
      if (body.replace === true) emulator.faults.clear();
      return ok({ added: emulator.faults.add(rules), faults: emulator.faults.list() });
    },
  }],
  ['DELETE', '/faults', {
    handler({ emulator }) {
      emulator.faults.clear();
      return ok({ faults: [] });
    },
  }],
  ['GET', '/clock', { handler: ({ emulator }) => ok(clockState(emulator)) }],
  ['POST', '/clock', {
    handler({ emulator, req }) {
      const body = readBody(req);
      if (body.advanceSeconds === undefined && body.set === undefined && body.freeze === undefined) {
        throw new AdminError('send {"advanceSeconds": N}, {"set": "<ISO time>"} or {"freeze": true|false}');
      }
      // Check everything before changing anything.
      if (body.advanceSeconds !== undefined && (typeof body.advanceSeconds !== 'number' || !Number.isFinite(body.advanceSeconds))) {
        throw new AdminError('advanceSeconds must be a number');
      }
      const at = body.set === undefined ? undefined : typeof body.set === 'string' ? parseZohoTime(body.set) : undefined;
      if (body.set !== undefined && at === undefined) throw new AdminError('set must be an ISO 8601 time, e.g. "2027-01-01T00:00:00Z"');
      if (body.freeze !== undefined && typeof body.freeze !== 'boolean') throw new AdminError('freeze must be true or false');
      if (at !== undefined) emulator.clock.set(at);
      if (typeof body.advanceSeconds === 'number') emulator.clock.advance(body.advanceSeconds * 1000);
      if (typeof body.freeze === 'boolean') emulator.clock.freeze(body.freeze);
      return ok(clockState(emulator));
    },
  }],
  ['GET', '/limits', {
    handler({ emulator }) {
      const now = emulator.clock.now();
      return ok({ settings: emulator.limiter.settings(), organizations: emulator.limiter.counters(emulator.store.organizations.list(), now) });
    },
  }],
  ['POST', '/limits', {
    handler({ emulator, req }) {
      const body = readBody(req);
      const next: Record<string, unknown> = {};
      if (body.enabled !== undefined) {
        if (typeof body.enabled !== 'boolean') throw new AdminError('enabled must be true or false');
        next.enabled = body.enabled;
      }
      const limitValues = (source: Record<string, unknown>, where: string): Record<string, number | undefined> => {
        const out: Record<string, number | undefined> = {};
        for (const [key, v] of Object.entries(source)) {
          if (!['perMinute', 'daily', 'inFlight'].includes(key)) {
            if (where === '') continue;
            throw new AdminError(`${where}${key} is not a limit; use perMinute, daily or inFlight`);
          }
          if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw new AdminError(`${where}${key} must be a non-negative integer or null`);
          out[key] = v ?? undefined;
        }
        return out;
      };
      Object.assign(next, limitValues(body, ''));
      if (body.organizations !== undefined) {
        if (typeof body.organizations !== 'object' || body.organizations === null || Array.isArray(body.organizations)) {
          throw new AdminError('organizations must map ids to limits: {"<organization_id>": {"perMinute", "daily", "inFlight"}}');
        }
        const known = new Set(emulator.store.organizations.list().map((o) => o.organization_id));
        const perOrganization: Record<string, Record<string, number | undefined>> = {};
        for (const [id, value] of Object.entries(body.organizations as Record<string, unknown>)) {
          if (!known.has(id)) throw new AdminError(`unknown organization ${id}`);
          if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminError(`organizations.${id} must be an object`);
          perOrganization[id] = limitValues(value as Record<string, unknown>, `organizations.${id}.`);
        }
        next.organizations = perOrganization;
      }
      if (body.resetCounters === true) emulator.limiter.reset();
      emulator.limiter.configure(next);
      return ok({ settings: emulator.limiter.settings() });
    },
  }],
  ['POST', '/tokens/expire', {
    handler({ emulator, req }) {
      const body = readBody(req);
      const now = emulator.clock.now();
      if (body.access_token !== undefined) {
        if (typeof body.access_token !== 'string') throw new AdminError('access_token must be a string');
        return ok({ expired: emulator.store.oauth.expireAccessToken(body.access_token, now) });
      }
      return ok({ expired: emulator.store.oauth.expireAll(now) });
    },
  }],
  ['POST', '/reset', {
    handler({ emulator, origin }) {
      emulator.reset();
      return ok(emulator.info(origin));
    },
  }],
  ['POST', '/seed', {
    handler({ emulator, req, origin }) {
      const body = readBody(req);
      const seed = body.seed ?? 'demo';
      if (seed !== 'demo' && seed !== 'empty') throw new AdminError('seed must be "demo" or "empty"');
      const randomSeed = body.randomSeed ?? emulator.options.seed.randomSeed;
      if (typeof randomSeed !== 'number' || !Number.isInteger(randomSeed) || randomSeed < 0) throw new AdminError('randomSeed must be a non-negative integer');
      const contacts = body.contacts ?? emulator.options.seed.contacts;
      if (typeof contacts !== 'number' || !Number.isInteger(contacts) || contacts < 1 || contacts > 1_000_000) {
        throw new AdminError('contacts must be an integer from 1 to 1,000,000');
      }
      emulator.reseed({ seed, randomSeed, contacts });
      return ok(emulator.info(origin));
    },
  }],
  ['GET', '/check', {
    handler({ emulator }) {
      const mismatches = emulator.store.contacts.derivedAmountMismatches(100);
      return ok({ ok: mismatches.length === 0, mismatches });
    },
  }],
];

export const adminApi: ApiDefinition<AdminRoute> = {
  prefix: ADMIN_PATH,
  routes,
  notFound: (path) => new AdminError(`no admin endpoint ${path}; see GET /__emulator/info`, 404),
  methodNotAllowed: (method, path, allowed) => new AdminError(`${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, 405),
  // A bad fault or account spec, or a body the shared decoder refuses, is the caller's mistake: 400 with its message.
  translate: (error) =>
    error instanceof FaultSpecError || error instanceof AccountSpecError || error instanceof ZohoHttpError ? new AdminError(error.message, 400) : error,
};
