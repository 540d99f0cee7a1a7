/**
 * Deterministic demo data: an account with two organizations whose customers and vendors have
 * multi-year histories — regulars, contacts dormant for years (some with open balances or unused
 * credits), lapsing ones, new ones created last month, never-traded ones, already inactive ones,
 * CRM-linked ones. The same random seed and the same emulated date give the same data.
 */
import {
  TRANSACTION_TYPES, formatZohoDate, type TransactionType, type TransactionTypeInfo,
} from '../../zoho/index.js';
import { createRandom, type Random } from '../prng.js';
import type { Store } from '../store/store.js';
import type { ContactRow, OrganizationRow, TransactionRow } from '../store/rows.js';
import {
  CHANNELS, COMPANY_FIRST, COMPANY_SECOND, COMPANY_SUFFIX, FIRST_NAMES, ITEMS, LAST_NAMES, PAYMENT_MODES, REGIONS, SEGMENTS,
} from './words.js';

const DAY = 86_400_000;
const MONTH = 30.44 * DAY;

export interface SeedOrganization {
  name: string;
  plan: 'free' | 'standard' | 'professional' | 'premium';
  currency_code: string;
  time_zone: string;
  utc_offset_minutes: number;
  /** Share of the demo contacts this organization gets, relative to the first. */
  share: number;
  /** Exactly this many contacts instead of a share (the organizations of other accounts). */
  contacts?: number;
}

export const DEMO_ORGANIZATIONS: readonly SeedOrganization[] = [
  { name: 'Sunrise Traders Pvt Ltd', plan: 'professional', currency_code: 'INR', time_zone: 'Asia/Calcutta', utc_offset_minutes: 330, share: 1 },
  { name: 'Harbor Supply Co', plan: 'free', currency_code: 'USD', time_zone: 'America/Bogota', utc_offset_minutes: -300, share: 0.2 },
];

export type Profile =
  | 'regular'
  | 'dormant'
  | 'dormant_balance'
  | 'dormant_credit'
  | 'lapsing'
  | 'new'
  | 'never_traded'
  | 'inactive';

const PROFILES: ReadonlyArray<[Profile, number]> = [
  ['regular', 0.38], ['dormant', 0.25], ['dormant_balance', 0.05], ['dormant_credit', 0.03], ['lapsing', 0.1],
  ['new', 0.05], ['never_traded', 0.08], ['inactive', 0.06],
];

function pickProfile(random: Random): Profile {
  let r = random.next();
  for (const [profile, weight] of PROFILES) {
    if (r < weight) return profile;
    r -= weight;
  }
  return 'regular';
}

export interface DemoSeedOptions {
  randomSeed: number;
  /** The account the organizations belong to. */
  accountId: string;
  /** Their ids; derived from the random seed when absent (the default account's). */
  organizationIds?: readonly string[];
  /** `position` of the first organization (organizations are listed in position order). */
  firstPosition?: number;
  /** False: one plain transaction instead of a bulk load that rebuilds the indexes (for a few rows into a big database). */
  bulk?: boolean;
  /** Contacts in the first organization; the others get their share of it. */
  contacts: number;
  now: number;
  /** Organizations to create; defaults to DEMO_ORGANIZATIONS. */
  organizations?: readonly SeedOrganization[];
  /** False: organizations only, no contacts (the `empty` seed). */
  withContacts?: boolean;
}

export interface SeedSummary {
  organizations: Array<{ organization_id: string; name: string; plan: string; contacts: number; transactions: number }>;
}

/** Organization ids derived from the seed: 9–10 digit numeric strings, like the live service's. */
export function organizationIds(randomSeed: number, count: number): string[] {
  const random = createRandom(randomSeed ^ 0x5eed);
  const base = 700_000_000 + random.int(0, 99_999) * 1000;
  return Array.from({ length: count }, (_, i) => String(base + i + 1));
}

interface Money {
  receivable: number;
  payable: number;
  creditsReceivable: number;
  creditsPayable: number;
}

class Generator {
  private nextId: bigint;
  private readonly numbers = new Map<string, number>();
  private readonly names = new Set<string>();
  constructor(private readonly store: Store, private readonly random: Random, firstId: bigint) {
    this.nextId = firstId;
  }

  id(): string {
    const id = String(this.nextId);
    this.nextId += 1n;
    return id;
  }

  finish(): void {
    this.store.setMeta('next_id', String(this.nextId));
    for (const [key, n] of this.numbers) this.store.setMeta(key, String(n));
  }

  number(organization: OrganizationRow, info: TransactionTypeInfo): string {
    const key = `seq:${organization.organization_id}:${info.type}`;
    const n = (this.numbers.get(key) ?? 0) + 1;
    this.numbers.set(key, n);
    return info.numberIsInteger ? String(n) : `${info.numberPrefix}${String(n).padStart(6, '0')}`;
  }

  uniqueName(base: string): string {
    let name = base;
    for (let n = 2; this.names.has(name); n++) name = `${base} ${n}`;
    this.names.add(name);
    return name;
  }

  resetNames(): void {
    this.names.clear();
  }
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '').slice(0, 24);
}

/** Adds the organizations (and, unless told otherwise, their demo contacts and transactions). */
export function seedDemo(store: Store, options: DemoSeedOptions): SeedSummary {
  const random = createRandom(options.randomSeed);
  const organizationSpecs = options.organizations ?? DEMO_ORGANIZATIONS;
  const ids = options.organizationIds ?? organizationIds(options.randomSeed, organizationSpecs.length);
  const firstPosition = options.firstPosition ?? 0;
  const summary: SeedSummary = { organizations: [] };
  const load = (fn: () => void): void => (options.bulk === false ? store.tx(fn) : store.bulkLoad(fn));
  load(() => {
    const gen = new Generator(store, random, store.ids.reserve(0));
    organizationSpecs.forEach((spec, position) => {
      const organization: OrganizationRow = {
        organization_id: ids[position] as string,
        account_id: options.accountId,
        name: spec.name,
        plan: spec.plan,
        currency_code: spec.currency_code,
        time_zone: spec.time_zone,
        utc_offset_minutes: spec.utc_offset_minutes,
        is_default: position === 0 ? 1 : 0,
        position: firstPosition + position,
        created_ms: options.now - 8 * 365 * DAY,
      };
      store.organizations.insert(organization);
      const count = spec.contacts ?? (options.withContacts === false ? 0 : Math.max(position === 0 ? 1 : 10, Math.round(options.contacts * spec.share)));
      gen.resetNames();
      let transactions = 0;
      for (let i = 0; i < count; i++) transactions += seedContact(store, gen, random, organization, options.now);
      summary.organizations.push({ organization_id: organization.organization_id, name: organization.name, plan: organization.plan, contacts: count, transactions });
    });
    gen.finish();
  });
  return summary;
}

function seedContact(store: Store, gen: Generator, random: Random, organization: OrganizationRow, now: number): number {
  const profile = pickProfile(random);
  const isVendor = random.chance(0.3);
  const individual = !isVendor && random.chance(0.25);
  const person = `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
  const company = `${random.pick(COMPANY_FIRST)} ${random.pick(COMPANY_SECOND)} ${random.pick(COMPANY_SUFFIX)}`;
  const name = gen.uniqueName(individual ? person : company);

  // When the relationship began and when it last traded.
  let created: number;
  let lastActivity: number | undefined;
  switch (profile) {
    case 'regular':
      created = now - random.int(200, 2200) * DAY;
      lastActivity = now - random.int(1, 60) * DAY;
      break;
    case 'dormant':
    case 'dormant_balance':
    case 'dormant_credit':
    case 'inactive':
      created = now - random.int(40, 96) * MONTH;
      lastActivity = now - random.int(25, 72) * MONTH;
      if (lastActivity < created + 30 * DAY) lastActivity = created + random.int(30, 300) * DAY;
      break;
    case 'lapsing':
      created = now - random.int(24, 72) * MONTH;
      lastActivity = now - random.int(13, 23) * MONTH;
      break;
    case 'new':
      created = now - random.int(3, 45) * DAY;
      lastActivity = random.chance(0.5) ? now - random.int(0, 2) * DAY : undefined;
      break;
    case 'never_traded':
      created = now - random.int(12, 60) * MONTH;
      lastActivity = undefined;
      break;
  }
  created = Math.floor(created);
  if (lastActivity !== undefined) lastActivity = Math.max(Math.floor(lastActivity), created + DAY);

  const contactId = gen.id();
  const money: Money = { receivable: 0, payable: 0, creditsReceivable: 0, creditsPayable: 0 };
  const rows: TransactionRow[] = [];
  if (lastActivity !== undefined) {
    buildHistory(gen, random, organization, contactId, isVendor, profile, created, lastActivity, now, money, rows);
  }

  const crmLinked = !isVendor && random.chance(0.35);
  const customFields: Array<{ customfield_id: string; api_name: string; label: string; index: number; data_type: string; value: string }> = [
    { customfield_id: '', api_name: 'cf_region', label: 'Region', index: 1, data_type: 'string', value: random.pick(REGIONS) },
    { customfield_id: '', api_name: 'cf_segment', label: 'Segment', index: 2, data_type: 'string', value: random.pick(SEGMENTS) },
  ];
  if (random.chance(0.01)) {
    customFields.push({ customfield_id: '', api_name: 'cf_do_not_sunset', label: 'Do not sunset', index: 3, data_type: 'string', value: 'true' });
  }
  const channel = random.pick(CHANNELS);
  const tags = random.chance(0.2)
    ? [{ tag_id: `${organization.organization_id}`.padEnd(18, '0') + '1', tag_name: 'Channel', tag_option_id: `${organization.organization_id}`.padEnd(18, '0') + String(2 + CHANNELS.indexOf(channel)), tag_option_name: channel }]
    : [];
  const inactiveSince = profile === 'inactive' && lastActivity !== undefined ? lastActivity + random.int(200, 500) * DAY : undefined;
  const modified = Math.min(now, inactiveSince ?? Math.max(created, lastActivity ?? created));
  const contact: ContactRow = {
    contact_id: contactId,
    organization_id: organization.organization_id,
    contact_name: name,
    company_name: individual ? '' : name,
    contact_type: isVendor ? 'vendor' : 'customer',
    customer_sub_type: individual ? 'individual' : 'business',
    status: profile === 'inactive' ? 'inactive' : 'active',
    email: `${slug(person)}@${slug(individual ? person : company)}.example`,
    phone: `+91-${random.int(70000, 99999)}-${random.int(10000, 99999)}`,
    website: '',
    notes: '',
    currency_code: organization.currency_code,
    custom_fields: JSON.stringify(customFields),
    tags: JSON.stringify(tags),
    zcrm_account_id: crmLinked ? String(4876000000000000000n + BigInt(random.int(1, 999_999_999))) : '',
    zcrm_contact_id: crmLinked && random.chance(0.5) ? String(4876100000000000000n + BigInt(random.int(1, 999_999_999))) : '',
    is_portal_enabled: random.chance(0.1) ? 1 : 0,
    credit_limit_cents: 0,
    receivable_cents: money.receivable,
    payable_cents: money.payable,
    credits_receivable_cents: money.creditsReceivable,
    credits_payable_cents: money.creditsPayable,
    transaction_count: rows.length,
    created_ms: created,
    modified_ms: modified,
  };
  store.contacts.insert(contact);
  for (const row of rows) store.transactions.insert(row);
  const comment = (description: string, operation: string, at: number): void => {
    store.contacts.addComment({
      comment_id: gen.id(), organization_id: organization.organization_id, contact_id: contactId, description,
      operation_type: operation, transaction_id: '', transaction_type: 'contact', commented_by: 'Demo Admin', created_ms: at,
    });
  };
  comment('Contact created', 'Added', created);
  if (inactiveSince !== undefined) comment('Contact marked as inactive.', 'Marked as Inactive', Math.min(now, inactiveSince));
  return rows.length;
}

function buildHistory(
  gen: Generator, random: Random, organization: OrganizationRow, contactId: string, isVendor: boolean, profile: Profile,
  start: number, last: number, now: number, money: Money, rows: TransactionRow[],
): void {
  const offset = organization.utc_offset_minutes;
  const span = Math.max(last - start, DAY);
  // About one order every 4–9 months, at least one, at most 10.
  const orders = Math.min(10, Math.max(1, Math.round(span / (random.int(4, 9) * MONTH))));
  const times: number[] = [];
  for (let i = 0; i < orders - 1; i++) times.push(start + Math.floor(random.next() * span));
  times.push(last);
  times.sort((a, b) => a - b);

  const make = (type: TransactionType, at: number, totalCents: number, balanceCents: number, status: string, extra: Partial<TransactionRow> = {}): TransactionRow => {
    const info = TRANSACTION_TYPES[type];
    const row: TransactionRow = {
      transaction_id: gen.id(),
      organization_id: organization.organization_id,
      type,
      contact_id: contactId,
      number: gen.number(organization, info),
      reference_number: '',
      date: formatZohoDate(at, offset),
      due_date: '',
      status,
      total_cents: totalCents,
      balance_cents: balanceCents,
      payment_mode: '',
      details: '{}',
      created_ms: at,
      modified_ms: at,
      ...extra,
    };
    rows.push(row);
    return row;
  };

  times.forEach((at, index) => {
    const isLast = index === times.length - 1;
    const total = random.int(5, 2000) * 100 + random.int(0, 99);
    const lineItems = JSON.stringify({ line_items: [{ name: random.pick(ITEMS), rate: total / 100, quantity: 1, item_total: total / 100 }] });
    if (!isVendor) {
      if (random.chance(0.1)) make('estimates', at - 3 * DAY, total, 0, 'accepted', { details: lineItems });
      if (random.chance(0.1)) {
        make('salesreceipts', at, total, 0, 'paid', { details: lineItems, payment_mode: random.pick(PAYMENT_MODES) });
        return;
      }
      if (random.chance(0.35)) make('salesorders', at - DAY, total, 0, 'invoiced', { details: lineItems });
      const due = at + 15 * DAY;
      const paidAt = at + random.int(3, 40) * DAY;
      const unpaid = (isLast && profile === 'dormant_balance') || paidAt > now;
      const invoice = make('invoices', at, total, unpaid ? total : 0, unpaid ? 'sent' : 'paid', {
        due_date: formatZohoDate(due, offset), details: lineItems, modified_ms: unpaid ? at : paidAt,
      });
      if (unpaid) {
        money.receivable += total;
      } else {
        make('customerpayments', paidAt, total, 0, 'paid', {
          payment_mode: random.pick(PAYMENT_MODES),
          details: JSON.stringify({ invoices: [{ invoice_id: invoice.transaction_id, amount_applied: total / 100 }] }),
        });
      }
      if (isLast && profile === 'dormant_credit') {
        const credit = random.int(10, 300) * 100;
        make('creditnotes', at + 5 * DAY, credit, credit, 'open');
        money.creditsReceivable += credit;
      } else if (random.chance(0.03)) {
        make('creditnotes', at + 5 * DAY, random.int(5, 100) * 100, 0, 'closed');
      }
    } else {
      if (random.chance(0.3)) make('purchaseorders', at - 2 * DAY, total, 0, 'billed', { details: lineItems });
      const due = at + 30 * DAY;
      const paidAt = at + random.int(5, 45) * DAY;
      const unpaid = (isLast && profile === 'dormant_balance') || paidAt > now;
      const bill = make('bills', at, total, unpaid ? total : 0, unpaid ? 'open' : 'paid', {
        due_date: formatZohoDate(due, offset), details: lineItems, modified_ms: unpaid ? at : paidAt,
      });
      if (unpaid) {
        money.payable += total;
      } else {
        make('vendorpayments', paidAt, total, 0, 'paid', {
          payment_mode: random.pick(PAYMENT_MODES),
          details: JSON.stringify({ bills: [{ bill_id: bill.transaction_id, amount_applied: total / 100 }] }),
        });
      }
      if (isLast && profile === 'dormant_credit') {
        const credit = random.int(10, 300) * 100;
        make('vendorcredits', at + 5 * DAY, credit, credit, 'open');
        money.creditsPayable += credit;
      }
    }
  });
  // Transactions dated in the future (a payment after "now") never happen: drop them.
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i] as TransactionRow;
    if (row.created_ms > now) rows.splice(i, 1);
  }
}
