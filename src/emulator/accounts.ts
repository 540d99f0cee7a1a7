/**
 * Accounts: one Zoho user each, with its own organizations, self-client and refresh tokens. An
 * emulator holds the default account (today's demo) and any number of others; one emulator stands
 * for one data centre. This module reads account specs (the `accounts` option and `POST
 * /__emulator/accounts`), fills in what a spec leaves out, and derives each account's ids and
 * credentials from the random seed (and the data centre, when one is named), so that the same
 * start gives the same accounts.
 */
import { PLANS, isPlan, type DataCentre, type Plan } from '../zoho/index.js';
import { createRandom } from './prng.js';
import { COMPANY_FIRST, COMPANY_SECOND, COMPANY_SUFFIX } from './seed/words.js';

/** An organization to create in an account. Anything left out is generated from the random seed. */
export interface OrganizationSpec {
  name?: string;
  plan?: Plan;
  /** ISO 4217 code, e.g. `EUR`. */
  currency?: string;
  /** IANA time zone, e.g. `Europe/Berlin`. */
  timeZone?: string;
  /** Demo contacts (with their histories) to seed; default a fifth of the seed's `contacts`, at least 10 (none with the `empty` seed). */
  contacts?: number;
}

/** An account to create: `{}` is an account with two generated organizations. */
export interface AccountSpec {
  name?: string;
  organizations?: OrganizationSpec[];
}

/** A spec with nothing left to generate. */
export interface ResolvedOrganization {
  name: string;
  plan: Plan;
  currency_code: string;
  time_zone: string;
  contacts: number;
}

export interface ResolvedAccount {
  name: string;
  organizations: ResolvedOrganization[];
}

/** An account as `GET /__emulator/accounts`, `POST /__emulator/accounts` and info's `accounts` show it. */
export interface AccountInfo {
  account_id: string;
  name: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  organizations: Array<{ organization_id: string; name: string; plan: string; currency_code: string; time_zone: string }>;
}

export interface AccountCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** At most this many accounts in one emulator (account ids are numbered within a block of 1,000). */
export const MAX_ACCOUNTS = 1000;
export const MAX_ORGANIZATIONS_PER_ACCOUNT = 20;
export const MAX_ORGANIZATION_CONTACTS = 100_000;

/** A spec that cannot be used; the message names the field and what it takes. */
export class AccountSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountSpecError';
  }
}

const ACCOUNT_FIELDS = ['name', 'organizations'];
const ORGANIZATION_FIELDS = ['name', 'plan', 'currency', 'timeZone', 'contacts'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkFields(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new AccountSpecError(`${where}unknown field "${key}"; use ${allowed.join(', ')}`);
  }
}

function nameField(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.trim().length > 100) {
    throw new AccountSpecError(`${where}name must be a non-empty string of at most 100 characters`);
  }
  return value.trim();
}

/** The canonical name of an IANA time zone, or undefined when it is not one. */
export function canonicalTimeZone(name: string): string | undefined {
  // Names only (`Europe/Berlin`, `UTC`, `Etc/GMT+5`), not offsets like `+05:30`.
  if (!/^[A-Za-z][A-Za-z_]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The zone's offset from UTC, in minutes east, at an instant (`Europe/Berlin` in July: 120). */
export function utcOffsetMinutes(timeZone: string, atMs: number): number {
  const part = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(atMs).find((p) => p.type === 'timeZoneName');
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(part?.value ?? '');
  if (!match?.[1]) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

function parseOrganization(value: unknown, where: string): OrganizationSpec {
  if (!isObject(value)) throw new AccountSpecError(`${where.slice(0, -1)} must be an object like {"name": "Acme GmbH", "plan": "standard", "currency": "EUR", "timeZone": "Europe/Berlin"}`);
  checkFields(value, ORGANIZATION_FIELDS, where);
  const spec: OrganizationSpec = {};
  const name = nameField(value.name, where);
  if (name !== undefined) spec.name = name;
  if (value.plan !== undefined) {
    if (typeof value.plan !== 'string' || !isPlan(value.plan)) {
      throw new AccountSpecError(`${where}plan must be one of ${PLANS.join(', ')} (got ${JSON.stringify(value.plan)})`);
    }
    spec.plan = value.plan;
  }
  if (value.currency !== undefined) {
    if (typeof value.currency !== 'string' || !/^[A-Za-z]{3}$/.test(value.currency)) {
      throw new AccountSpecError(`${where}currency must be a three-letter ISO 4217 code like "EUR" (got ${JSON.stringify(value.currency)})`);
    }
    spec.currency = value.currency.toUpperCase();
  }
  if (value.timeZone !== undefined) {
    const zone = typeof value.timeZone === 'string' ? canonicalTimeZone(value.timeZone) : undefined;
    if (zone === undefined) throw new AccountSpecError(`${where}timeZone must be an IANA time zone like "Europe/Berlin" (got ${JSON.stringify(value.timeZone)})`);
    spec.timeZone = zone;
  }
  if (value.contacts !== undefined) {
    const n = value.contacts;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_ORGANIZATION_CONTACTS) {
      throw new AccountSpecError(`${where}contacts must be a whole number from 0 to ${MAX_ORGANIZATION_CONTACTS} (got ${JSON.stringify(n)})`);
    }
    spec.contacts = n;
  }
  return spec;
}

/**
 * Checks an account spec from outside (JSON or an option) and returns it cleaned (names trimmed,
 * currency in capitals, time zones canonical). `where` prefixes the messages, e.g. `accounts[1].`.
 */
export function parseAccountSpec(value: unknown, where = ''): AccountSpec {
  if (!isObject(value)) throw new AccountSpecError(`${where ? `${where.slice(0, -1)} ` : 'an account '}must be an object like {"name": "Acme", "organizations": [{"name": "Acme GmbH"}]}`);
  checkFields(value, ACCOUNT_FIELDS, where);
  const spec: AccountSpec = {};
  const name = nameField(value.name, where);
  if (name !== undefined) spec.name = name;
  if (value.organizations !== undefined) {
    const list = value.organizations;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ORGANIZATIONS_PER_ACCOUNT) {
      throw new AccountSpecError(`${where}organizations must be an array of 1 to ${MAX_ORGANIZATIONS_PER_ACCOUNT} organizations (leave it out for two generated ones)`);
    }
    spec.organizations = list.map((item, i) => parseOrganization(item, `${where}organizations[${i}].`));
  }
  return spec;
}

/** Plans, currencies and time zones of generated organizations, one pair per account, in turn. */
const TEMPLATES: ReadonlyArray<readonly [Omit<ResolvedOrganization, 'name' | 'contacts'>, Omit<ResolvedOrganization, 'name' | 'contacts'>]> = [
  [{ plan: 'standard', currency_code: 'EUR', time_zone: 'Europe/Berlin' }, { plan: 'free', currency_code: 'GBP', time_zone: 'Europe/London' }],
  [{ plan: 'professional', currency_code: 'AUD', time_zone: 'Australia/Sydney' }, { plan: 'premium', currency_code: 'NZD', time_zone: 'Pacific/Auckland' }],
  [{ plan: 'premium', currency_code: 'USD', time_zone: 'America/New_York' }, { plan: 'standard', currency_code: 'CAD', time_zone: 'America/Toronto' }],
  [{ plan: 'professional', currency_code: 'JPY', time_zone: 'Asia/Tokyo' }, { plan: 'free', currency_code: 'SGD', time_zone: 'Asia/Singapore' }],
  [{ plan: 'standard', currency_code: 'AED', time_zone: 'Asia/Dubai' }, { plan: 'professional', currency_code: 'BRL', time_zone: 'America/Sao_Paulo' }],
];

/**
 * Fills in what a spec leaves out, deterministically from the random seed and the account's
 * position (1 for the first account after the default). `defaultContacts` is what an organization
 * without `contacts` gets.
 */
export function resolveAccount(spec: AccountSpec, randomSeed: number, position: number, defaultContacts: number): ResolvedAccount {
  const random = createRandom(randomSeed ^ 0x9a3e ^ Math.imul(position, 0xc2b2ae35));
  const pair = TEMPLATES[(position - 1) % TEMPLATES.length] ?? TEMPLATES[0]!;
  const organizations = (spec.organizations ?? [{}, {}]).map((o, i): ResolvedOrganization => {
    const template = pair[i % 2]!;
    const generatedName = `${random.pick(COMPANY_FIRST)} ${random.pick(COMPANY_SECOND)} ${random.pick(COMPANY_SUFFIX)}`;
    return {
      name: o.name ?? generatedName,
      plan: o.plan ?? template.plan,
      currency_code: o.currency ?? template.currency_code,
      time_zone: o.timeZone ?? template.time_zone,
      contacts: o.contacts ?? defaultContacts,
    };
  });
  return { name: spec.name ?? `Client account ${position}`, organizations };
}

/**
 * The seed that ids and credentials derive from: the random seed itself when no data centre is
 * named (so an emulator without one is exactly as before), else mixed with the data centre, so two
 * emulators for two data centres never share a token, client or organization id.
 */
export function identitySeed(randomSeed: number, dataCentre: DataCentre | undefined): number {
  if (dataCentre === undefined) return randomSeed;
  let hash = 0x811c9dc5;
  for (const ch of `dc:${dataCentre}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193);
  return (randomSeed ^ hash) >>> 0;
}

/** The ready-made self-client and refresh token of the account at `position` (0: the default account). */
export function accountCredentials(identity: number, position: number): AccountCredentials {
  const random = createRandom(identity ^ 0xc0ffee ^ Math.imul(position, 0x9e3779b1));
  return {
    clientId: `1000.${random.hex(30).toUpperCase()}`,
    clientSecret: random.hex(42),
    refreshToken: `1000.${random.hex(32)}.${random.hex(32)}`,
  };
}

/** An 11-digit numeric string, like a Zoho user id; distinct for each position below MAX_ACCOUNTS. */
export function accountIdFor(identity: number, position: number): string {
  const base = 60_000_000_000 + createRandom(identity ^ 0xacc0).int(0, 9_999_999) * 1000;
  return String(base + position + 1);
}

/**
 * Organization ids for the account at `position` (1 and up; the default account's come from the
 * demo seed): 9-digit numeric strings, drawn again while any is `taken`.
 */
export function accountOrganizationIds(identity: number, position: number, count: number, taken: (id: string) => boolean): string[] {
  const random = createRandom(identity ^ 0x0c9a ^ Math.imul(position, 0x85ebca6b));
  for (;;) {
    const base = 800_000_000 + random.int(0, 99_999) * 1000;
    const ids = Array.from({ length: count }, (_, i) => String(base + i + 1));
    if (!ids.some(taken)) return ids;
  }
}

/** The random seed for an account's demo contacts (position 0 is the default account's, the seed itself). */
export function accountDataSeed(randomSeed: number, position: number): number {
  return position === 0 ? randomSeed : (randomSeed ^ Math.imul(position, 0x27d4eb2d)) >>> 0;
}
