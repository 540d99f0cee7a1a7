/**
 * Fault injection: rules that make matching requests fail, slow down, drop the connection (before
 * handling, or after handling so the change is made but its answer lost), or expire the access
 * token they carry. Rules come from `--fault SPEC` on the command line or from
 * `POST /__emulator/faults`, in the same grammar.
 *
 * Spec grammar: `KIND[:ARG][,key=value]...`
 * - KIND: an HTTP status (`500`, `502`, `503`, `504`, `429`), `latency:MS`, `drop` (the request is
 *   not handled), `drop-answer` (the request is handled, then the connection is dropped instead of
 *   answering: the case a client can only resolve by asking again), `expire-token`
 * - keys: `rate` (0..1, default 1), `count` (fire at most N times), `skip` (let the first N matches
 *   pass), `every` (fire on every Nth match), `method`, `path` (a glob under /books/v3 unless it
 *   starts with /oauth: `*` is one segment, `**` the rest), `code` (the Zoho code in the body)
 * Example: `503,rate=0.1`  `429,count=5,path=/contacts/*\/inactive`  `latency:200,rate=0.2`  `drop,every=50`
 *   `drop-answer,count=1,method=POST,path=/contacts/*\/inactive`
 */
import { ZohoCode } from '../zoho/index.js';
import { createRandom, type Random } from './prng.js';

export type FaultKind = 'status' | 'latency' | 'drop' | 'drop_answer' | 'expire_token';

export interface FaultRuleInput {
  kind: FaultKind | 'error';
  status?: number;
  code?: number;
  latencyMs?: number;
  method?: string;
  path?: string;
  rate?: number;
  count?: number;
  skip?: number;
  every?: number;
}

export interface FaultRule {
  id: string;
  kind: FaultKind;
  status?: number;
  code?: number;
  latencyMs?: number;
  method?: string;
  path?: string;
  rate: number;
  count?: number;
  skip: number;
  every?: number;
  /** Requests that matched method and path so far. */
  matched: number;
  /** Times the rule fired. */
  fired: number;
}

export interface FaultDecision {
  /** Total injected latency in ms. */
  latencyMs: number;
  /** A status fault that fired: answer this instead of handling. */
  status?: { status: number; code: number; ruleId: string };
  drop?: { ruleId: string };
  /** Handle the request, then drop the connection instead of answering. */
  dropAnswer?: { ruleId: string };
  expireToken?: { ruleId: string };
}

export class FaultSpecError extends Error {
  override name = 'FaultSpecError';
}

const STATUSES = new Set([429, 500, 502, 503, 504]);

function defaultCode(status: number): number {
  return status === 429 ? ZohoCode.RATE_LIMITED : ZohoCode.INTERNAL;
}

function toNumber(key: string, value: string, min: number, max: number, integer: boolean): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new FaultSpecError(`fault option ${key}=${value}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

/** Parses one `--fault` spec. Throws FaultSpecError with a message that says what is wrong. */
export function parseFaultSpec(spec: string): FaultRuleInput {
  const [head = '', ...options] = spec.split(',').map((part) => part.trim());
  const [kindText = '', arg] = head.split(':');
  let rule: FaultRuleInput;
  if (/^\d{3}$/.test(kindText)) {
    rule = { kind: 'status', status: Number(kindText) };
  } else if (kindText === 'latency') {
    if (arg === undefined) throw new FaultSpecError(`fault "${spec}": latency needs milliseconds, e.g. latency:200`);
    rule = { kind: 'latency', latencyMs: toNumber('latency', arg, 0, 600_000, true) };
  } else if (kindText === 'drop') {
    rule = { kind: 'drop' };
  } else if (kindText === 'drop-answer' || kindText === 'drop_answer') {
    if (arg !== undefined) throw new FaultSpecError(`fault "${spec}": drop-answer takes no argument (options go after a comma, e.g. drop-answer,count=1)`);
    rule = { kind: 'drop_answer' };
  } else if (kindText === 'expire-token' || kindText === 'expire_token') {
    rule = { kind: 'expire_token' };
  } else {
    throw new FaultSpecError(`fault "${spec}": unknown kind "${kindText}" (use 500, 503, 429, latency:MS, drop, drop-answer or expire-token)`);
  }
  for (const option of options) {
    const eq = option.indexOf('=');
    if (eq < 1) throw new FaultSpecError(`fault "${spec}": option "${option}" should be key=value`);
    const key = option.slice(0, eq);
    const value = option.slice(eq + 1);
    switch (key) {
      case 'rate': rule.rate = toNumber(key, value, 0, 1, false); break;
      case 'count': rule.count = toNumber(key, value, 1, 1e9, true); break;
      case 'skip': rule.skip = toNumber(key, value, 0, 1e9, true); break;
      case 'every': rule.every = toNumber(key, value, 1, 1e9, true); break;
      case 'code': rule.code = toNumber(key, value, 0, 1e9, true); break;
      case 'method': rule.method = value.toUpperCase(); break;
      case 'path': rule.path = value; break;
      default: throw new FaultSpecError(`fault "${spec}": unknown option "${key}" (use rate, count, skip, every, method, path, code)`);
    }
  }
  return validateFaultRule(rule);
}

/** Checks a rule given as JSON (admin API) or parsed from a spec; returns it normalised. */
export function validateFaultRule(input: unknown): FaultRuleInput {
  if (typeof input === 'string') return parseFaultSpec(input);
  if (typeof input !== 'object' || input === null) throw new FaultSpecError('a fault is a spec string or an object with a "kind"');
  const r = input as Record<string, unknown>;
  const kind = r.kind === 'error' ? 'status' : r.kind;
  if (kind !== 'status' && kind !== 'latency' && kind !== 'drop' && kind !== 'expire_token' && kind !== 'drop_answer') {
    throw new FaultSpecError(`fault kind ${JSON.stringify(r.kind)} is not one of status, latency, drop, expire_token, drop_answer`);
  }
  const num = (key: string, min: number, max: number, integer: boolean): number | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw new FaultSpecError(`fault option ${key} must be a number`);
    return toNumber(key, String(v), min, max, integer);
  };
  const str = (key: string): string | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length > 300) throw new FaultSpecError(`fault option ${key} must be a string`);
    return v;
  };
  const rule: FaultRuleInput = {
    kind,
    status: num('status', 100, 599, true),
    code: num('code', 0, 1e9, true),
    latencyMs: num('latencyMs', 0, 600_000, true),
    method: str('method')?.toUpperCase(),
    path: str('path'),
    rate: num('rate', 0, 1, false),
    count: num('count', 1, 1e9, true),
    skip: num('skip', 0, 1e9, true),
    every: num('every', 1, 1e9, true),
  };
  if (kind === 'status' && (rule.status === undefined || !STATUSES.has(rule.status))) {
    throw new FaultSpecError('a status fault needs "status": 429, 500, 502, 503 or 504');
  }
  if (kind === 'latency' && rule.latencyMs === undefined) throw new FaultSpecError('a latency fault needs "latencyMs"');
  return rule;
}

function compilePath(pattern: string): RegExp {
  const full = pattern.startsWith('/books/') || pattern.startsWith('/oauth/') ? pattern : `/books/v3${pattern.startsWith('/') ? '' : '/'}${pattern}`;
  const parts = full.split('/').map((seg) => {
    if (seg === '**') return '.*';
    if (seg === '*') return '[^/]+';
    return seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  });
  return new RegExp(`^${parts.join('/')}/?$`);
}

/**
 * When a rule is considered: `token` rules (expire-token) before authentication, the others once
 * the request has passed authentication, organization and limit checks — so a request refused
 * earlier never uses up a rule.
 */
export type FaultPhase = 'token' | 'answer';

export interface FaultInjector {
  add(inputs: FaultRuleInput[]): FaultRule[];
  list(): FaultRule[];
  clear(): void;
  /** Clears the rules and restarts the seeded random sequence. */
  reset(): void;
  /** Decides what happens to a request in one phase; counts matches of that phase's rules only. */
  decide(method: string, path: string, phase: FaultPhase): FaultDecision;
}

export function createFaultInjector(seed: number): FaultInjector {
  let random: Random = createRandom(seed);
  let rules: Array<FaultRule & { regex?: RegExp }> = [];
  let nextId = 1;
  return {
    add(inputs) {
      const added = inputs.map((input) => {
        const rule = validateFaultRule(input);
        const status = rule.kind === 'status' ? rule.status : undefined;
        return {
          id: `fault-${nextId++}`,
          kind: rule.kind === 'error' ? 'status' : rule.kind,
          status,
          code: status !== undefined ? (rule.code ?? defaultCode(status)) : undefined,
          latencyMs: rule.latencyMs,
          method: rule.method,
          path: rule.path,
          rate: rule.rate ?? 1,
          count: rule.count,
          skip: rule.skip ?? 0,
          every: rule.every,
          matched: 0,
          fired: 0,
          regex: rule.path ? compilePath(rule.path) : undefined,
        } as FaultRule & { regex?: RegExp };
      });
      rules.push(...added);
      return added.map(({ regex: _regex, ...rest }) => rest);
    },
    list: () => rules.map(({ regex: _regex, ...rest }) => ({ ...rest })),
    clear() {
      rules = [];
    },
    reset() {
      rules = [];
      nextId = 1;
      random = createRandom(seed);
    },
    decide(method, path, phase) {
      const decision: FaultDecision = { latencyMs: 0 };
      if (rules.length === 0) return decision;
      for (const rule of rules) {
        if ((rule.kind === 'expire_token') !== (phase === 'token')) continue;
        if (rule.method && rule.method !== method) continue;
        if (rule.regex && !rule.regex.test(path)) continue;
        if (rule.count !== undefined && rule.fired >= rule.count) continue;
        rule.matched++;
        if (rule.matched <= rule.skip) continue;
        if (rule.every !== undefined && (rule.matched - rule.skip) % rule.every !== 0) continue;
        if (rule.rate < 1 && random.next() >= rule.rate) continue;
        if (rule.kind === 'latency') {
          rule.fired++;
          decision.latencyMs += rule.latencyMs ?? 0;
        } else if (rule.kind === 'expire_token') {
          if (!decision.expireToken) {
            rule.fired++;
            decision.expireToken = { ruleId: rule.id };
          }
        } else if (!decision.status && !decision.drop && !decision.dropAnswer) {
          rule.fired++;
          if (rule.kind === 'drop') decision.drop = { ruleId: rule.id };
          else if (rule.kind === 'drop_answer') decision.dropAnswer = { ruleId: rule.id };
          else decision.status = { status: rule.status ?? 500, code: rule.code ?? ZohoCode.INTERNAL, ruleId: rule.id };
        }
      }
      return decision;
    },
  };
}
