/**
 * Policies: which contacts of an organization are dormant and which are excluded. A policy is a
 * YAML or JSON file, validated as a whole; every problem is reported with the file, line, column
 * and what to write instead. Unknown keys are errors (a misspelt safety rule must not be ignored).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { isOrganizationId, isZohoId, TRANSACTION_TYPES, type ContactType, type TransactionType } from '../zoho/index.js';
import { oneLine } from './one-line.js';

export interface Duration {
  amount: number;
  unit: 'days' | 'weeks' | 'months' | 'years';
  /** As written, for reports: `24 months`. */
  text: string;
}

export type FieldCondition =
  | { equals: string }
  | { not: string[] }
  | { in: string[] }
  | { empty: boolean };

export interface Policy {
  organizationId: string;
  inactivity: Duration;
  activity: Record<ContactType, TransactionType[]>;
  safety: {
    openBalance: boolean;
    unusedCredits: boolean;
    gracePeriod: Duration;
  };
  filters: {
    contactTypes: ContactType[];
    customFields: Record<string, FieldCondition>;
    tags: { include: string[]; exclude: string[] };
    name: { include: string[]; exclude: string[] };
    crm: 'any' | 'linked' | 'unlinked';
    allow: string[] | undefined;
    deny: string[];
  };
  maxChanges: number | undefined;
  reactivate: boolean;
}

export const DEFAULT_ACTIVITY: Record<ContactType, TransactionType[]> = {
  customer: ['invoices', 'salesorders', 'salesreceipts', 'customerpayments', 'creditnotes', 'estimates'],
  vendor: ['bills', 'purchaseorders', 'vendorpayments', 'vendorcredits'],
};

export interface PolicyProblem {
  line: number;
  column: number;
  /** Dotted path of the offending key, e.g. `safety.grace_period`. */
  path: string;
  message: string;
}

/** Raised for a policy that cannot be used; `problems` holds every issue found, in file order. */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(readonly file: string, readonly problems: PolicyProblem[]) {
    super(problems.map((p) => `${file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'));
  }
}

const DURATION = /^\s*(\d{1,5})\s*(day|days|d|week|weeks|w|month|months|mo|year|years|y)\s*$/i;

export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const amount = Number(m[1]);
  const u = (m[2] as string).toLowerCase();
  const unit = u.startsWith('d') ? 'days' : u.startsWith('w') ? 'weeks' : u.startsWith('mo') || u === 'month' || u === 'months' ? 'months' : 'years';
  return { amount, unit, text: `${amount} ${amount === 1 ? unit.slice(0, -1) : unit}` };
}

/** `now` minus a duration, in calendar terms (months and years by the calendar, in UTC). */
export function subtractDuration(now: number, d: Duration): number {
  switch (d.unit) {
    case 'days':
      return now - d.amount * 86_400_000;
    case 'weeks':
      return now - d.amount * 7 * 86_400_000;
    case 'months':
    case 'years': {
      // Calendar months, clamped to the month's end: 31 March minus a month is 28 (or 29) February.
      const date = new Date(now);
      const months = d.unit === 'months' ? d.amount : d.amount * 12;
      const total = date.getUTCFullYear() * 12 + date.getUTCMonth() - months;
      const year = Math.floor(total / 12);
      const month = total - year * 12;
      const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
      return Date.UTC(year, month, Math.min(date.getUTCDate(), lastDay), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds());
    }
  }
}

/** Glob (`*`, `?`) to a case-insensitive regular expression over the whole name. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

const TOP_KEYS = ['organization_id', 'inactivity', 'activity', 'safety', 'filters', 'max_changes', 'reactivate'];
const SAFETY_KEYS = ['open_balance', 'unused_credits', 'grace_period'];
const FILTER_KEYS = ['contact_type', 'custom_fields', 'tags', 'name', 'crm', 'allow', 'deny'];

/** Parses and validates a policy. Throws PolicyError listing every problem with its line. */
export function parsePolicy(text: string, file = 'policy'): Policy {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const problems: PolicyProblem[] = [];
  const at = (node: YamlNode | null | undefined, path: string, message: string): void => {
    const offset = node?.range?.[0] ?? 0;
    const pos = counter.linePos(offset);
    problems.push({ line: pos.line, column: pos.col, path: oneLine(path), message: oneLine(message) });
  };
  for (const error of doc.errors) {
    const pos = error.linePos?.[0] ?? counter.linePos(error.pos[0]);
    problems.push({ line: pos.line, column: pos.col, path: '', message: oneLine(`not valid YAML or JSON: ${error.message.split('\n')[0]}`) });
  }
  if (problems.length > 0) {
    // The parser can report an error after a later one (a stack overflow unwinding): keep file order.
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PolicyError(file, problems);
  }
  const root = doc.contents;
  if (!isMap(root)) {
    at(root as YamlNode, '', 'a policy is a mapping of keys such as organization_id, inactivity, safety, filters');
    throw new PolicyError(file, problems);
  }

  // Helpers that read one node, report problems, and return a value or undefined.
  const entries = (node: unknown, path: string, allowed: string[]): Map<string, { key: YamlNode; value: YamlNode | null }> => {
    const out = new Map<string, { key: YamlNode; value: YamlNode | null }>();
    if (!isMap(node)) {
      at(node as YamlNode, path, 'expected a mapping (key: value lines)');
      return out;
    }
    for (const pair of node.items) {
      const key = pair.key as YamlNode;
      const name = isScalar(key) ? String(key.value) : '';
      if (!allowed.includes(name)) {
        const norm = (x: string): string => x.toLowerCase().replace(/[_-]/g, '');
        const near = allowed.find((a) => norm(a) === norm(name)) ?? allowed.find((a) => editDistance(norm(a), norm(name)) <= 2);
        at(key, path ? `${path}.${name}` : name, `unknown key "${name}"${near ? ` (did you mean "${near}"?)` : ''}; allowed here: ${allowed.join(', ')}`);
        continue;
      }
      out.set(name, { key, value: pair.value as YamlNode | null });
    }
    return out;
  };
  const scalar = (node: YamlNode | null | undefined): unknown => (isScalar(node) ? node.value : undefined);
  const str = (node: YamlNode | null | undefined, path: string, what: string): string | undefined => {
    const v = scalar(node);
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    if (typeof v === 'number' && what.includes('id')) {
      const written = node?.range ? text.slice(node.range[0], node.range[1]).trim() : String(v);
      at(node, path, `${what} must be quoted: write "${written}" — ids are strings (Zoho ids have up to 19 digits and lose precision as numbers)`);
      return undefined;
    }
    at(node, path, `expected ${what}`);
    return undefined;
  };
  const bool = (node: YamlNode | null | undefined, path: string): boolean | undefined => {
    const v = scalar(node);
    if (typeof v === 'boolean') return v;
    at(node, path, 'expected true or false');
    return undefined;
  };
  const duration = (node: YamlNode | null | undefined, path: string): Duration | undefined => {
    const v = scalar(node);
    const d = typeof v === 'string' ? parseDuration(v) : undefined;
    if (!d || d.amount === 0) {
      at(node, path, `${JSON.stringify(v ?? null)} is not a duration; write e.g. "24 months", "2 years" or "90 days"`);
      return undefined;
    }
    return d;
  };
  /** A list (or a single value) of strings; each kept item carries its node and index for later messages. */
  const list = (node: YamlNode | null | undefined, path: string, what: string): Array<{ value: string; node: YamlNode; index: number }> | undefined => {
    if (isScalar(node) && typeof node.value === 'string') return [{ value: node.value, node, index: -1 }];
    if (!isSeq(node)) {
      at(node, path, `expected a list of ${what}`);
      return undefined;
    }
    const out: Array<{ value: string; node: YamlNode; index: number }> = [];
    node.items.forEach((item, i) => {
      const v = str(item as YamlNode, `${path}[${i}]`, what);
      if (v !== undefined) out.push({ value: v, node: item as YamlNode, index: i });
    });
    return out;
  };

  const top = entries(root, '', TOP_KEYS);
  const policy: Policy = {
    organizationId: '',
    inactivity: { amount: 24, unit: 'months', text: '24 months' },
    activity: { customer: [...DEFAULT_ACTIVITY.customer], vendor: [...DEFAULT_ACTIVITY.vendor] },
    safety: { openBalance: true, unusedCredits: true, gracePeriod: { amount: 90, unit: 'days', text: '90 days' } },
    filters: { contactTypes: ['customer', 'vendor'], customFields: {}, tags: { include: [], exclude: [] }, name: { include: [], exclude: [] }, crm: 'any', allow: undefined, deny: [] },
    maxChanges: undefined,
    reactivate: false,
  };

  const organization = top.get('organization_id');
  if (!organization) at(root, 'organization_id', 'organization_id is required: the Zoho organization this policy is for, as a quoted string');
  else {
    const v = str(organization.value, 'organization_id', 'an organization id');
    if (v !== undefined && !isOrganizationId(v)) at(organization.value, 'organization_id', `"${v}" is not a Zoho organization id (digits only)`);
    else if (v !== undefined) policy.organizationId = v;
  }
  const inactivity = top.get('inactivity');
  if (inactivity) policy.inactivity = duration(inactivity.value, 'inactivity') ?? policy.inactivity;

  const activity = top.get('activity');
  if (activity) {
    const byType = entries(activity.value, 'activity', ['customer', 'vendor']);
    for (const [type, { value }] of byType) {
      const contactType = type as ContactType;
      const names = list(value, `activity.${type}`, 'transaction types');
      if (!names) continue;
      const valid: TransactionType[] = [];
      for (const { value: n, node: item, index } of names) {
        const info = (TRANSACTION_TYPES as Record<string, (typeof TRANSACTION_TYPES)[TransactionType] | undefined>)[n];
        const where = index < 0 ? `activity.${type}` : `activity.${type}[${index}]`;
        if (!info) at(item, where, `unknown transaction type "${n}"; use ${Object.values(TRANSACTION_TYPES).filter((t) => t.contactType === contactType).map((t) => t.type).join(', ')}`);
        else if (info.contactType !== contactType) at(item, where, `"${n}" belongs to ${info.contactType}s, not ${contactType}s`);
        else valid.push(info.type);
      }
      if (valid.length === 0 && names.length === 0) at(value, `activity.${type}`, 'name at least one transaction type, or every contact of this type would look dormant');
      policy.activity[contactType] = valid;
    }
  }

  const safety = top.get('safety');
  if (safety) {
    const s = entries(safety.value, 'safety', SAFETY_KEYS);
    const ob = s.get('open_balance');
    if (ob) policy.safety.openBalance = bool(ob.value, 'safety.open_balance') ?? true;
    const uc = s.get('unused_credits');
    if (uc) policy.safety.unusedCredits = bool(uc.value, 'safety.unused_credits') ?? true;
    const gp = s.get('grace_period');
    if (gp) {
      const v = scalar(gp.value);
      if (v === 0 || v === '0' || v === 'none') policy.safety.gracePeriod = { amount: 0, unit: 'days', text: 'none' };
      else policy.safety.gracePeriod = duration(gp.value, 'safety.grace_period') ?? policy.safety.gracePeriod;
    }
  }

  const filters = top.get('filters');
  if (filters) {
    const f = entries(filters.value, 'filters', FILTER_KEYS);
    const ct = f.get('contact_type');
    if (ct) {
      const types = list(ct.value, 'filters.contact_type', 'contact types (customer, vendor)')?.map((t) => t.value);
      if (types) {
        const bad = types.filter((t) => t !== 'customer' && t !== 'vendor');
        if (bad.length > 0) at(ct.value, 'filters.contact_type', `unknown contact type ${bad.map((b) => `"${b}"`).join(', ')}; use customer or vendor`);
        else policy.filters.contactTypes = types as ContactType[];
      }
    }
    const cf = f.get('custom_fields');
    if (cf) {
      if (!isMap(cf.value)) at(cf.value, 'filters.custom_fields', 'expected a mapping of custom field api names (cf_...) to conditions');
      else {
        for (const pair of cf.value.items) {
          const name = isScalar(pair.key) ? String(pair.key.value) : '';
          const path = `filters.custom_fields.${name}`;
          const value = pair.value as YamlNode | null;
          if (!/^cf_[a-z0-9_]+$/i.test(name)) {
            at(pair.key as YamlNode, path, `custom fields are named by their api name, like cf_region (got "${name}")`);
            continue;
          }
          if (isScalar(value)) {
            if (value.value === null) policy.filters.customFields[name] = { empty: true };
            else policy.filters.customFields[name] = { equals: String(value.value) };
            continue;
          }
          const cond = entries(value, path, ['equals', 'not', 'in', 'empty']);
          if (cond.size !== 1) {
            if (isMap(value)) at(value, path, 'give exactly one of equals, not, in, empty');
            continue;
          }
          const [op, { value: v }] = [...cond.entries()][0] as [string, { value: YamlNode | null }];
          if (op === 'equals') {
            const s = scalar(v);
            if (s === null || s === undefined || typeof s === 'object') at(v, `${path}.equals`, 'expected a value');
            else policy.filters.customFields[name] = { equals: String(s) };
          } else if (op === 'empty') {
            const b = bool(v, `${path}.empty`);
            if (b !== undefined) policy.filters.customFields[name] = { empty: b };
          } else {
            // Each item a scalar: a mapping, list or alias in the list is an error, not the value "".
            const wrong = isSeq(v) ? v.items.map((item, i) => [item as YamlNode, i] as const).filter(([item]) => !isScalar(item)) : [];
            for (const [item, i] of wrong) at(item, `${path}.${op}[${i}]`, 'expected a value (text or a number), not a list, mapping or alias');
            const values = isSeq(v) ? v.items.map((i) => String(scalar(i as YamlNode) ?? '')) : isScalar(v) && v.value !== null ? [String(v.value)] : undefined;
            if (!values) at(v, `${path}.${op}`, 'expected a value or a list of values');
            else if (wrong.length === 0) policy.filters.customFields[name] = op === 'not' ? { not: values } : { in: values };
          }
        }
      }
    }
    for (const key of ['tags', 'name'] as const) {
      const node = f.get(key);
      if (!node) continue;
      const sub = entries(node.value, `filters.${key}`, ['include', 'exclude']);
      for (const [which, { value }] of sub) {
        const patterns = list(value, `filters.${key}.${which}`, key === 'tags' ? 'tags ("Tag name" or "Tag name: option")' : 'name patterns (* and ? wildcards)');
        if (patterns) policy.filters[key][which as 'include' | 'exclude'] = patterns.map((p) => p.value);
      }
    }
    const crm = f.get('crm');
    if (crm) {
      const v = scalar(crm.value);
      if (v === 'any' || v === 'linked' || v === 'unlinked') policy.filters.crm = v;
      else at(crm.value, 'filters.crm', 'expected any, linked or unlinked');
    }
    for (const key of ['allow', 'deny'] as const) {
      const node = f.get(key);
      if (!node) continue;
      const ids = list(node.value, `filters.${key}`, 'contact ids (quoted strings)');
      if (!ids) continue;
      const good: string[] = [];
      for (const { value: id, node: item, index } of ids) {
        if (isZohoId(id)) good.push(id);
        else at(item, index < 0 ? `filters.${key}` : `filters.${key}[${index}]`, `"${id}" is not a Zoho contact id (15 to 19 digits, quoted)`);
      }
      if (key === 'allow') policy.filters.allow = good;
      else policy.filters.deny = good;
    }
  }

  const max = top.get('max_changes');
  if (max) {
    const v = scalar(max.value);
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 10_000_000) policy.maxChanges = v;
    else at(max.value, 'max_changes', 'expected a whole number of changes, from 1 to 10000000');
  }
  const reactivate = top.get('reactivate');
  if (reactivate) policy.reactivate = bool(reactivate.value, 'reactivate') ?? false;

  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PolicyError(file, problems);
  }
  return policy;
}

/** The activity types a policy counts, for the contact types it applies to (what a scan must read). */
export function activityTypesFor(policy: Policy): TransactionType[] {
  const types = new Set<TransactionType>();
  for (const contactType of policy.filters.contactTypes) for (const t of policy.activity[contactType]) types.add(t);
  return [...types];
}

/** A policy file for an organization with every default written out, to start from. */
export function defaultPolicyText(organizationId: string): string {
  return `# Sunset policy: which contacts of this organization are dormant, and which are never touched.
organization_id: "${organizationId}"

# A contact is dormant when none of the activity below happened in this long. One that never
# traded is dormant too; the grace period below protects those created recently.
inactivity: 24 months

# Which transactions count as activity, per contact type.
activity:
  customer: [${DEFAULT_ACTIVITY.customer.join(', ')}]
  vendor: [${DEFAULT_ACTIVITY.vendor.join(', ')}]

# Safety exclusions: on by default.
safety:
  open_balance: true      # money is still owed either way
  unused_credits: true    # the contact has credit left
  grace_period: 90 days   # created recently

filters:
  contact_type: [customer, vendor]
  crm: any                # any, linked or unlinked (to Zoho CRM)
  custom_fields:
    cf_do_not_sunset: { not: ["true"] }
  # tags: { include: ["Channel: Online"], exclude: [] }
  # name: { include: ["*"], exclude: ["Test *"] }
  # allow: ["3185434000000001581"]   # only these contacts
  # deny: ["3185434000000001582"]    # never these

# At most this many changes per run.
max_changes: 1000
`;
}
