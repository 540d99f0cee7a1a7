/** The adapter from the engine's port (BooksPort, port.ts) to the client: the only engine file that imports the client. */
import { parseZohoTime, type ContactListItem, type TransactionRecord, type TransactionType, TRANSACTION_TYPES } from '../zoho/index.js';
import { NotFoundError, QuotaExhaustedError, type ZohoBooksClient } from '../client/index.js';
import { QuotaWait, type BooksPort, type PortContact, type PortTransaction } from './port.js';

function cents(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 100) : 0;
}

function time(text: unknown): number {
  return typeof text === 'string' ? (parseZohoTime(text) ?? 0) : 0;
}

export function toPortContact(c: ContactListItem): PortContact {
  const fields: Record<string, string> = {};
  for (const f of c.custom_fields ?? []) if (f.api_name) fields[f.api_name] = String(f.value ?? '');
  return {
    contactId: c.contact_id,
    contactName: c.contact_name,
    companyName: c.company_name ?? '',
    contactType: c.contact_type,
    status: c.status,
    createdAt: time(c.created_time),
    modifiedAt: time(c.last_modified_time),
    receivableCents: cents(c.outstanding_receivable_amount),
    payableCents: cents(c.outstanding_payable_amount),
    creditsReceivableCents: cents(c.unused_credits_receivable_amount),
    creditsPayableCents: cents(c.unused_credits_payable_amount),
    customFields: fields,
    tags: (c.tags ?? []).map((t) => (t.tag_option_name ? `${t.tag_name}: ${t.tag_option_name}` : t.tag_name)),
    zcrmAccountId: c.zcrm_account_id ?? '',
    zcrmContactId: c.zcrm_contact_id ?? '',
  };
}

function toPortTransaction(type: TransactionType, t: TransactionRecord): PortTransaction {
  const info = TRANSACTION_TYPES[type];
  return {
    transactionId: String(t[info.idField] ?? ''),
    type,
    contactId: String(t[info.contactIdField] ?? ''),
    number: String(t[info.numberField] ?? ''),
    date: t.date,
    totalCents: cents(t[info.amountField]),
    modifiedAt: time(t.last_modified_time),
  };
}

/** Zoho's timestamp text for `last_modified_time` filters. */
function since(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/**
 * `target` names what the client reaches (see docs/glossary.md): every snapshot, plan and run
 * records it, so a run is only ever applied, verified or undone where it was made.
 */
export function createZohoAdapter(client: ZohoBooksClient, organizationId: string, countCalls: () => number, target: string): BooksPort {
  const books = client.organization(organizationId);
  const quotaGuard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof QuotaExhaustedError) throw new QuotaWait(error.message, error.resetAt);
      throw error;
    }
  };
  return {
    organizationId,
    target,
    async *listContacts({ status, modifiedSince, signal }) {
      const filterBy = status === 'active' ? 'Status.Active' : status === 'inactive' ? 'Status.Inactive' : 'Status.All';
      const pages = books.contacts.list({ filterBy, lastModifiedTime: modifiedSince === undefined ? undefined : since(modifiedSince) }).pages();
      for (;;) {
        signal?.throwIfAborted();
        const next = await quotaGuard(() => pages.next());
        if (next.done) return;
        yield next.value.items.map(toPortContact);
      }
    },
    async *listTransactions(type, { dateStart, modifiedSince, contactId, signal }) {
      const pages = books.transactions(type).list({
        dateStart, contactId, lastModifiedTime: modifiedSince === undefined ? undefined : since(modifiedSince),
      }).pages();
      for (;;) {
        signal?.throwIfAborted();
        const next = await quotaGuard(() => pages.next());
        if (next.done) return;
        yield next.value.items.map((t) => toPortTransaction(type, t));
      }
    },
    async getContact(contactId) {
      try {
        return toPortContact(await quotaGuard(() => books.contacts.get(contactId)));
      } catch (error) {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      }
    },
    async findContacts(by) {
      const found: PortContact[] = [];
      const pages = books.contacts.list({ filterBy: 'Status.All', zcrmAccountId: by.zcrmAccountId, zcrmContactId: by.zcrmContactId, email: by.email }).pages();
      for (;;) {
        const next = await quotaGuard(() => pages.next());
        if (next.done) return found;
        found.push(...next.value.items.map(toPortContact));
      }
    },
    async setStatus(contactId, status, signal) {
      const result = await quotaGuard(() =>
        status === 'inactive' ? books.contacts.markInactive(contactId, { signal }) : books.contacts.markActive(contactId, { signal }),
      );
      return result.outcome;
    },
    apiCalls: countCalls,
    quota() {
      const state = books.limits();
      return { remaining: state.quota?.remaining, resetAt: state.quota?.resetAt, limit: state.quota?.limit, perMinute: state.perMinute };
    },
    async organizations() {
      const organizations = await client.organizations.list();
      return organizations.map((o) => ({
        organizationId: o.organization_id, name: o.name, plan: o.plan_name, currencyCode: o.currency_code ?? '',
        ...(typeof o.time_zone === 'string' ? { timeZone: o.time_zone } : {}),
      }));
    },
  };
}
