/** Transaction routes (reference §4): list with contact and date filters, create, get one. */
import {
  scopeName, TRANSACTION_TYPES, TRANSACTION_TYPE_NAMES, ZohoCode,
  type LedgerSide, type TransactionTypeInfo,
} from '../../zoho/index.js';
import type { BooksRoute, OrganizationContext } from '../context.js';
import { pageContext } from '../context.js';
import { ZohoHttpError, invalidValue, notFound } from '../http-error.js';
import {
  bodyDate, bodyId, bodyNumber, bodyString, optionalDate, optionalId, optionalText, optionalTime, paging, sortOrder,
  toCents, zohoId,
} from '../params.js';
import { money, renderTransaction } from '../render.js';
import type { AmountDelta } from '../store/contacts.js';
import type { TransactionRow } from '../store/rows.js';
import { TRANSACTION_SORT_COLUMNS } from '../store/transactions.js';

/** What a transaction's balance adds to its contact's derived amounts. */
export function amountDelta(ledger: LedgerSide, balanceCents: number): AmountDelta {
  switch (ledger) {
    case 'receivable':
      return { receivable: balanceCents };
    case 'payable':
      return { payable: balanceCents };
    case 'credit_receivable':
      return { creditsReceivable: balanceCents };
    case 'credit_payable':
      return { creditsPayable: balanceCents };
    case 'none':
      return {};
  }
}

/** The status a new document starts in. */
export function initialStatus(info: TransactionTypeInfo, balanceCents: number): string {
  switch (info.type) {
    case 'invoices':
    case 'estimates':
      return balanceCents === 0 && info.type === 'invoices' ? 'paid' : 'sent';
    case 'bills':
      return balanceCents === 0 ? 'paid' : 'open';
    case 'creditnotes':
    case 'vendorcredits':
      return balanceCents === 0 ? 'closed' : 'open';
    case 'salesreceipts':
    case 'customerpayments':
    case 'vendorpayments':
      return 'paid';
    default:
      return 'open';
  }
}

function listTransactions(info: TransactionTypeInfo) {
  return (ctx: OrganizationContext) => {
    const q = ctx.query;
    const { page, perPage, offset } = paging(q);
    const sortRaw = q.get('sort_column') || 'created_time';
    if (!Object.prototype.hasOwnProperty.call(TRANSACTION_SORT_COLUMNS, sortRaw)) throw invalidValue('sort_column');
    const order = sortOrder(q, 'D');
    const rows = ctx.store.transactions.list({
      organizationId: ctx.organization.organization_id,
      type: info.type,
      contactId: optionalId(q, info.contactIdField),
      date: optionalDate(q, 'date'),
      dateStart: optionalDate(q, 'date_start'),
      dateEnd: optionalDate(q, 'date_end'),
      dateBefore: optionalDate(q, 'date_before'),
      dateAfter: optionalDate(q, 'date_after'),
      modifiedSinceMs: optionalTime(q, 'last_modified_time', ctx.organization.utc_offset_minutes),
      status: optionalText(q, 'status', 30),
      today: ctx.today,
      sortColumn: sortRaw,
      sortOrder: order,
      limit: perPage,
      offset,
    });
    const hasMore = rows.length > perPage;
    if (hasMore) rows.pop();
    return {
      body: {
        code: 0,
        message: 'success',
        [info.listKey]: rows.map((row) => renderTransaction(row, info, ctx.organization, ctx.today, false)),
        page_context: pageContext(page, perPage, hasMore, q.get('filter_by') || 'Status.All', sortRaw, order),
      },
    };
  };
}

function getTransaction(info: TransactionTypeInfo) {
  return (ctx: OrganizationContext) => {
    const id = zohoId(ctx.params.id, info.idField);
    const row = ctx.store.transactions.get(ctx.organization.organization_id, info.type, id);
    if (!row) throw notFound(info.label.charAt(0).toUpperCase() + info.label.slice(1));
    return { body: { code: 0, message: 'success', [info.singleKey]: renderTransaction(row, info, ctx.organization, ctx.today, true) } };
  };
}

interface LineItem {
  name: string;
  rate: number;
  quantity: number;
  item_total: number;
}

function readLineItems(body: Record<string, unknown>): LineItem[] | undefined {
  const value = body.line_items;
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 500) throw invalidValue('line_items');
  return value.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidValue('line_items', 'each line item is an object');
    const item = raw as Record<string, unknown>;
    const rate = bodyNumber(item, 'rate', { min: 0, max: 1e10 });
    if (rate === undefined) throw invalidValue('rate', 'every line item needs a rate');
    const quantity = bodyNumber(item, 'quantity', { min: 0, max: 1e6 }) ?? 1;
    const name = bodyString(item, 'name', 200) ?? bodyString(item, 'description', 2000) ?? '';
    return { name, rate, quantity, item_total: Math.round(rate * quantity * 100) / 100 };
  });
}

interface Application {
  id: string;
  cents: number;
}

/** `invoices: [{invoice_id, amount_applied}]` on a customer payment, `bills: [...]` on a vendor payment. */
function readApplications(ctx: OrganizationContext, body: Record<string, unknown>, settles: TransactionTypeInfo, contactId: string): Application[] {
  const key = settles.listKey;
  const value = body[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 500) throw invalidValue(key);
  const seen = new Set<string>();
  return value.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidValue(key);
    const entry = raw as Record<string, unknown>;
    const id = bodyId(entry, settles.idField);
    if (id === undefined || seen.has(id)) throw invalidValue(settles.idField);
    seen.add(id);
    const doc = ctx.store.transactions.get(ctx.organization.organization_id, settles.type, id);
    if (!doc || doc.contact_id !== contactId) throw invalidValue(settles.idField);
    const applied = bodyNumber(entry, 'amount_applied', { min: 0.01 });
    if (applied === undefined) throw invalidValue('amount_applied');
    const cents = toCents(applied, 'amount_applied');
    if (cents > doc.balance_cents) throw invalidValue('amount_applied', `more than the balance of ${money(doc.balance_cents)}`);
    return { id, cents };
  });
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Reserves the next document number of a type in an organization (`INV-000042`). */
export function nextNumber(ctx: Pick<OrganizationContext, 'store' | 'organization'>, info: TransactionTypeInfo): string {
  const key = `seq:${ctx.organization.organization_id}:${info.type}`;
  const n = Number(ctx.store.getMeta(key) ?? '0') + 1;
  ctx.store.setMeta(key, String(n));
  return info.numberIsInteger ? String(n) : `${info.numberPrefix}${String(n).padStart(6, '0')}`;
}

function createTransaction(info: TransactionTypeInfo) {
  return (ctx: OrganizationContext) => {
    const body = ctx.body();
    const contactId = bodyId(body, info.contactIdField);
    if (contactId === undefined) throw invalidValue(info.contactIdField, 'it is required');
    const contact = ctx.store.contacts.get(ctx.organization.organization_id, contactId);
    if (!contact || contact.contact_type !== info.contactType) throw invalidValue(info.contactIdField);
    if (contact.status === 'inactive' && info.blockedForInactiveContact) throw new ZohoHttpError(ZohoCode.CONTACT_INACTIVE);

    const date = bodyDate(body, 'date') ?? ctx.today;
    const lineItems = readLineItems(body);
    let totalCents: number;
    if (info.amountField === 'amount') {
      const amount = bodyNumber(body, 'amount', { min: 0.01 });
      if (amount === undefined) throw invalidValue('amount', 'it is required');
      totalCents = toCents(amount, 'amount');
    } else if (lineItems) {
      totalCents = toCents(lineItems.reduce((sum, item) => sum + item.item_total, 0), 'line_items');
    } else {
      const total = bodyNumber(body, 'total', { min: 0 });
      if (total === undefined) throw invalidValue('line_items', 'it is required');
      totalCents = toCents(total, 'total');
    }
    const hasDueDate = info.ledger === 'receivable' || info.ledger === 'payable';
    const dueDate = hasDueDate ? (bodyDate(body, 'due_date') ?? addDays(date, 15)) : '';
    if (dueDate !== '' && dueDate < date) throw invalidValue('due_date', 'before the document date');
    const numberValue = body[info.numberField];
    const number = info.numberIsInteger && typeof numberValue === 'number'
      ? (Number.isInteger(numberValue) && numberValue > 0 && numberValue < 1e12 ? String(numberValue) : (() => { throw invalidValue(info.numberField); })())
      : bodyString(body, info.numberField, 100);
    const reference = bodyString(body, 'reference_number', 100) ?? '';
    const paymentMode = info.amountField === 'amount' ? (bodyString(body, 'payment_mode', 50) ?? 'cash') : '';

    return ctx.store.tx(() => {
      const settles = info.settles ? TRANSACTION_TYPES[info.settles] : undefined;
      const applications = settles ? readApplications(ctx, body, settles, contactId) : [];
      const appliedCents = applications.reduce((sum, a) => sum + a.cents, 0);
      if (appliedCents > totalCents) throw invalidValue('amount', 'less than the amounts applied');
      const balanceCents = info.ledger === 'none' ? 0 : totalCents - appliedCents;
      const details: Record<string, unknown> = {};
      if (lineItems) details.line_items = lineItems;
      if (settles) {
        details[settles.listKey] = applications.map((a) => ({ [settles.idField]: a.id, amount_applied: money(a.cents) }));
      }
      const row: TransactionRow = {
        transaction_id: ctx.store.ids.next(),
        organization_id: ctx.organization.organization_id,
        type: info.type,
        contact_id: contactId,
        number: number ?? nextNumber(ctx, info),
        reference_number: reference,
        date,
        due_date: dueDate,
        status: initialStatus(info, balanceCents),
        total_cents: totalCents,
        balance_cents: balanceCents,
        payment_mode: paymentMode,
        details: JSON.stringify(details),
        created_ms: ctx.now,
        modified_ms: ctx.now,
      };
      ctx.store.transactions.insert(row);
      ctx.store.contacts.adjustAmounts(contactId, { ...amountDelta(info.ledger, balanceCents), transactions: 1 });
      if (settles) {
        for (const a of applications) {
          const doc = ctx.store.transactions.get(ctx.organization.organization_id, settles.type, a.id);
          if (!doc) continue;
          const left = doc.balance_cents - a.cents;
          ctx.store.transactions.setBalance(a.id, left, left === 0 ? 'paid' : 'partially_paid', ctx.now);
          ctx.store.contacts.adjustAmounts(contactId, amountDelta(settles.ledger, -a.cents));
        }
      }
      ctx.store.contacts.addComment({
        comment_id: ctx.store.ids.next(),
        organization_id: ctx.organization.organization_id,
        contact_id: contactId,
        description: `${info.label.charAt(0).toUpperCase() + info.label.slice(1)} ${row.number} created for ${money(totalCents).toFixed(2)}`,
        operation_type: 'Added',
        transaction_id: row.transaction_id,
        transaction_type: info.singleKey,
        commented_by: ctx.actor,
        created_ms: ctx.now,
      });
      const created = ctx.store.transactions.get(ctx.organization.organization_id, info.type, row.transaction_id);
      const message = `The ${info.label} has been created.`;
      return { status: 201, body: { code: 0, message, [info.singleKey]: created ? renderTransaction(created, info, ctx.organization, ctx.today, true) : {} } };
    });
  };
}

export const transactionRoutes: ReadonlyArray<[string, string, BooksRoute]> = TRANSACTION_TYPE_NAMES.flatMap((type) => {
  const info = TRANSACTION_TYPES[type];
  const read = [scopeName(info.scopeModule, 'READ')];
  const create = [scopeName(info.scopeModule, 'CREATE')];
  return [
    ['GET', info.path, { level: 'organization', scopes: read, handler: listTransactions(info) }],
    ['POST', info.path, { level: 'organization', scopes: create, handler: createTransaction(info) }],
    ['GET', `${info.path}/:id`, { level: 'organization', scopes: read, handler: getTransaction(info) }],
  ] satisfies Array<[string, string, BooksRoute]>;
});
