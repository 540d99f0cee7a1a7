/**
 * The admin API under `/__emulator/` (JSON in and out). Other people's test suites script against
 * these names, so they are stable:
 *   GET  /__emulator/info       the ready-made credentials and addresses
 *   POST /__emulator/grants     {"scopes": [...], "organization_ids": [...]} → {"code": "..."}
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
import { decodeUtf8 } from '../body.js';
import type { Emulator } from '../emulator.js';
import { FaultSpecError, validateFaultRule } from '../faults.js';
import type { EmulatorRequest, EmulatorResponse } from '../types.js';

class AdminError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function reply(status: number, body: unknown): EmulatorResponse {
  return { status, headers: { 'content-type': 'application/json;charset=UTF-8' }, body: JSON.stringify(body) };
}

function readBody(req: EmulatorRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8(req.body, 'body'));
  } catch {
    throw new AdminError(400, 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function stringArray(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new AdminError(400, `${name} must be an array of strings`);
  return value as string[];
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new AdminError(400, `${name} must be a non-negative integer`);
  return Number(raw);
}

function clockState(emulator: Emulator): Record<string, unknown> {
  const now = emulator.clock.now();
  return { now: new Date(now).toISOString(), epochMs: now, frozen: emulator.clock.frozen };
}

type Handler = (emulator: Emulator, req: EmulatorRequest, origin: string) => EmulatorResponse;

const routes: Record<string, Partial<Record<string, Handler>>> = {
  '/__emulator/info': {
    GET: (emulator, _req, origin) => reply(200, emulator.info(origin)),
  },
  '/__emulator/grants': {
    POST(emulator, req) {
      const body = readBody(req);
      const scopes = stringArray(body.scopes, 'scopes');
      if (scopes.length === 0) throw new AdminError(400, 'scopes must name at least one scope, e.g. ["ZohoBooks.contacts.ALL"]');
      const organizationIds = stringArray(body.organization_ids, 'organization_ids');
      const known = new Set(emulator.store.organizations.list().map((o) => o.organization_id));
      const unknown = organizationIds.filter((id) => !known.has(id));
      if (unknown.length > 0) throw new AdminError(400, `unknown organization_ids: ${unknown.join(', ')}`);
      const clientId = body.client_id === undefined ? emulator.info('').clientId : body.client_id;
      if (typeof clientId !== 'string' || !emulator.store.oauth.getClient(clientId)) throw new AdminError(400, 'unknown client_id');
      const code = emulator.authority.createGrant({ clientId, scopes, organizationIds }, emulator.clock.now());
      return reply(200, { code, client_id: clientId, expires_in: 600 });
    },
  },
  '/__emulator/requests': {
    GET(emulator, req) {
      return reply(200, emulator.requestLog.query({
        since: intParam(req.query, 'since'),
        limit: intParam(req.query, 'limit'),
        method: req.query.get('method')?.toUpperCase() || undefined,
        pathPrefix: req.query.get('path_prefix') || undefined,
      }));
    },
    DELETE(emulator) {
      emulator.requestLog.clear();
      return reply(200, { cleared: true });
    },
  },
  '/__emulator/faults': {
    GET: (emulator) => reply(200, { faults: emulator.faults.list() }),
    POST(emulator, req) {
      const body = readBody(req);
      const list = Array.isArray(body.faults) ? body.faults : body.kind !== undefined ? [body] : undefined;
      if (!list) throw new AdminError(400, 'send {"faults": [...]} with rule objects or spec strings like "503,rate=0.1"');
      const rules = list.map((item: unknown) => validateFaultRule(item));
      if (body.replace === true) emulator.faults.clear();
      return reply(200, { added: emulator.faults.add(rules), faults: emulator.faults.list() });
    },
    DELETE(emulator) {
      emulator.faults.clear();
      return reply(200, { faults: [] });
    },
  },
  '/__emulator/clock': {
    GET: (emulator) => reply(200, clockState(emulator)),
    POST(emulator, req) {
      const body = readBody(req);
      if (body.advanceSeconds === undefined && body.set === undefined && body.freeze === undefined) {
        throw new AdminError(400, 'send {"advanceSeconds": N}, {"set": "<ISO time>"} or {"freeze": true|false}');
      }
      // Check everything before changing anything.
      if (body.advanceSeconds !== undefined && (typeof body.advanceSeconds !== 'number' || !Number.isFinite(body.advanceSeconds))) {
        throw new AdminError(400, 'advanceSeconds must be a number');
      }
      const at = body.set === undefined ? undefined : typeof body.set === 'string' ? parseZohoTime(body.set) : undefined;
      if (body.set !== undefined && at === undefined) throw new AdminError(400, 'set must be an ISO 8601 time, e.g. "2027-01-01T00:00:00Z"');
      if (body.freeze !== undefined && typeof body.freeze !== 'boolean') throw new AdminError(400, 'freeze must be true or false');
      if (at !== undefined) emulator.clock.set(at);
      if (typeof body.advanceSeconds === 'number') emulator.clock.advance(body.advanceSeconds * 1000);
      if (typeof body.freeze === 'boolean') emulator.clock.freeze(body.freeze);
      return reply(200, clockState(emulator));
    },
  },
  '/__emulator/limits': {
    GET(emulator) {
      const now = emulator.clock.now();
      return reply(200, { settings: emulator.limiter.settings(), organizations: emulator.limiter.counters(emulator.store.organizations.list(), now) });
    },
    POST(emulator, req) {
      const body = readBody(req);
      const next: Record<string, unknown> = {};
      if (body.enabled !== undefined) {
        if (typeof body.enabled !== 'boolean') throw new AdminError(400, 'enabled must be true or false');
        next.enabled = body.enabled;
      }
      const limitValues = (source: Record<string, unknown>, where: string): Record<string, number | undefined> => {
        const out: Record<string, number | undefined> = {};
        for (const [key, v] of Object.entries(source)) {
          if (!['perMinute', 'daily', 'inFlight'].includes(key)) {
            if (where === '') continue;
            throw new AdminError(400, `${where}${key} is not a limit; use perMinute, daily or inFlight`);
          }
          if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw new AdminError(400, `${where}${key} must be a non-negative integer or null`);
          out[key] = v ?? undefined;
        }
        return out;
      };
      Object.assign(next, limitValues(body, ''));
      if (body.organizations !== undefined) {
        if (typeof body.organizations !== 'object' || body.organizations === null || Array.isArray(body.organizations)) {
          throw new AdminError(400, 'organizations must map ids to limits: {"<organization_id>": {"perMinute", "daily", "inFlight"}}');
        }
        const known = new Set(emulator.store.organizations.list().map((o) => o.organization_id));
        const perOrg: Record<string, Record<string, number | undefined>> = {};
        for (const [id, value] of Object.entries(body.organizations as Record<string, unknown>)) {
          if (!known.has(id)) throw new AdminError(400, `unknown organization ${id}`);
          if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminError(400, `organizations.${id} must be an object`);
          perOrg[id] = limitValues(value as Record<string, unknown>, `organizations.${id}.`);
        }
        next.organizations = perOrg;
      }
      if (body.resetCounters === true) emulator.limiter.reset();
      emulator.limiter.configure(next);
      return reply(200, { settings: emulator.limiter.settings() });
    },
  },
  '/__emulator/tokens/expire': {
    POST(emulator, req) {
      const body = readBody(req);
      const now = emulator.clock.now();
      if (body.access_token !== undefined) {
        if (typeof body.access_token !== 'string') throw new AdminError(400, 'access_token must be a string');
        return reply(200, { expired: emulator.store.oauth.expireAccessToken(body.access_token, now) });
      }
      return reply(200, { expired: emulator.store.oauth.expireAll(now) });
    },
  },
  '/__emulator/reset': {
    POST(emulator, _req, origin) {
      emulator.reset();
      return reply(200, emulator.info(origin));
    },
  },
  '/__emulator/seed': {
    POST(emulator, req, origin) {
      const body = readBody(req);
      const seed = body.seed ?? 'demo';
      if (seed !== 'demo' && seed !== 'empty') throw new AdminError(400, 'seed must be "demo" or "empty"');
      const randomSeed = body.randomSeed ?? emulator.options.seed.randomSeed;
      if (typeof randomSeed !== 'number' || !Number.isInteger(randomSeed) || randomSeed < 0) throw new AdminError(400, 'randomSeed must be a non-negative integer');
      const contacts = body.contacts ?? emulator.options.seed.contacts;
      if (typeof contacts !== 'number' || !Number.isInteger(contacts) || contacts < 1 || contacts > 1_000_000) {
        throw new AdminError(400, 'contacts must be an integer from 1 to 1,000,000');
      }
      emulator.reseed({ seed, randomSeed, contacts });
      return reply(200, emulator.info(origin));
    },
  },
  '/__emulator/check': {
    GET(emulator) {
      const mismatches = emulator.store.contacts.derivedAmountMismatches(100);
      return reply(200, { ok: mismatches.length === 0, mismatches });
    },
  },
};

export function handleAdmin(emulator: Emulator, req: EmulatorRequest, origin: string): EmulatorResponse {
  const path = req.rawPath.replace(/\/+$/, '');
  const methods = routes[path];
  if (!methods) return reply(404, { error: `no admin endpoint ${path}; see GET /__emulator/info` });
  const handler = methods[req.method];
  if (!handler) return reply(405, { error: `${req.method} is not allowed on ${path}; use ${Object.keys(methods).join(' or ')}` });
  try {
    return handler(emulator, req, origin);
  } catch (error) {
    if (error instanceof AdminError) return reply(error.status, { error: error.message });
    if (error instanceof FaultSpecError) return reply(400, { error: error.message });
    if (error instanceof Error && error.name === 'ZohoHttpError') return reply(400, { error: error.message });
    throw error;
  }
}
