import { isZohoId, MAX_PER_PAGE, type Contact, type ContactComment, type ContactListItem, type ContactType } from '../../zoho/index.js';
import { AlreadyInStateError, ValidationError } from '../errors.js';
import { hasMorePages, PageIterator, type ListBody } from '../paginate.js';
import type { QueryValue, Requester } from '../request.js';

export type ContactFilter =
  | 'Status.All' | 'Status.Active' | 'Status.Inactive' | 'Status.Duplicate' | 'Status.Crm' | 'Status.PortalEnabled'
  | 'Status.PortalDisabled' | 'Status.CreditLimitExceed' | 'Invoice.OverDue' | 'Invoice.Unpaid';

export type ContactSortColumn =
  | 'contact_name' | 'company_name' | 'email' | 'created_time' | 'last_modified_time' | 'outstanding_receivable_amount'
  | 'outstanding_payable_amount';

/** Every filter of `GET /contacts` (reference §2), in camelCase; only these names are sent. */
export interface ContactListParams {
  contactType?: ContactType;
  filterBy?: ContactFilter;
  searchText?: string;
  contactName?: string;
  contactNameStartsWith?: string;
  contactNameContains?: string;
  companyName?: string;
  companyNameStartsWith?: string;
  companyNameContains?: string;
  email?: string;
  phone?: string;
  zcrmAccountId?: string;
  zcrmContactId?: string;
  /** Contacts modified at or after this time (a Date, or Zoho's timestamp text). */
  lastModifiedTime?: Date | string;
  sortColumn?: ContactSortColumn;
  sortOrder?: 'A' | 'D';
  perPage?: number;
  /** First page to read (default 1). */
  page?: number;
}

const WIRE: Record<Exclude<keyof ContactListParams, 'perPage' | 'page' | 'lastModifiedTime'>, string> = {
  contactType: 'contact_type',
  filterBy: 'filter_by',
  searchText: 'search_text',
  contactName: 'contact_name',
  contactNameStartsWith: 'contact_name_startswith',
  contactNameContains: 'contact_name_contains',
  companyName: 'company_name',
  companyNameStartsWith: 'company_name_startswith',
  companyNameContains: 'company_name_contains',
  email: 'email',
  phone: 'phone',
  zcrmAccountId: 'zcrm_account_id',
  zcrmContactId: 'zcrm_contact_id',
  sortColumn: 'sort_column',
  sortOrder: 'sort_order',
};

/** Zoho's timestamp text, `2024-03-05T12:06:10+0000`, for a Date. */
export function zohoTimestamp(value: Date | string): string {
  if (typeof value === 'string') return value;
  return value.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** Fields a create or update may carry. `status` is not one: use markActive / markInactive. */
export interface ContactInput {
  contact_name?: string;
  company_name?: string;
  contact_type?: ContactType;
  customer_sub_type?: 'business' | 'individual';
  email?: string;
  phone?: string;
  website?: string;
  notes?: string;
  currency_code?: string;
  custom_fields?: Array<{ api_name?: string; label?: string; customfield_id?: string; value: string | number | boolean }>;
  tags?: Array<{ tag_id?: string; tag_option_id?: string; tag_name?: string; tag_option_name?: string }>;
  credit_limit?: number;
  [field: string]: unknown;
}

export interface StatusChangeResult {
  contactId: string;
  status: 'active' | 'inactive';
  /**
   * `changed`: this call changed it (also when a retry answered 3031/3032 after an attempt whose
   * answer was lost). `unchanged`: it already was (3031/3032, or a 0 on a contact known to be in that state).
   */
  outcome: 'changed' | 'unchanged';
}

export interface StatusChangeOptions {
  /** The state the caller believes the contact is in; a success on a contact already there reports `unchanged`. */
  knownStatus?: 'active' | 'inactive';
  signal?: AbortSignal;
}

export interface ContactsResource {
  list(params?: ContactListParams): PageIterator<ContactListItem>;
  get(contactId: string): Promise<Contact>;
  create(input: ContactInput): Promise<Contact>;
  update(contactId: string, input: ContactInput): Promise<Contact>;
  delete(contactId: string): Promise<void>;
  markActive(contactId: string, options?: StatusChangeOptions): Promise<StatusChangeResult>;
  markInactive(contactId: string, options?: StatusChangeOptions): Promise<StatusChangeResult>;
  comments(contactId: string): PageIterator<ContactComment>;
}

export function checkContactId(contactId: unknown): string {
  if (!isZohoId(contactId)) {
    throw new ValidationError(`${JSON.stringify(contactId)} is not a Zoho contact id: ids are strings of 15 to 19 digits.`);
  }
  return contactId;
}

export function createContactsResource(requester: Requester, organizationId: string): ContactsResource {
  const setStatus = async (contactId: string, status: 'active' | 'inactive', options: StatusChangeOptions = {}): Promise<StatusChangeResult> => {
    const id = checkContactId(contactId);
    try {
      await requester.request({
        method: 'POST', path: `/contacts/${id}/${status}`, organizationId, idempotent: true, statusAction: true, signal: options.signal,
      });
      return { contactId: id, status, outcome: options.knownStatus === status ? 'unchanged' : 'changed' };
    } catch (error) {
      // 3031/3032 after an attempt whose answer was lost: that attempt made the change.
      if (error instanceof AlreadyInStateError) return { contactId: id, status, outcome: error.afterUncertainAttempt ? 'changed' : 'unchanged' };
      throw error;
    }
  };
  return {
    list(params = {}) {
      const query: Record<string, QueryValue> = {};
      for (const [key, wire] of Object.entries(WIRE)) {
        const value = params[key as keyof typeof WIRE];
        if (value !== undefined) query[wire] = value;
      }
      if (params.lastModifiedTime !== undefined) query.last_modified_time = zohoTimestamp(params.lastModifiedTime);
      return new PageIterator(async (page, perPage) => {
        const body = await requester.request<ListBody & { contacts?: ContactListItem[] }>({
          method: 'GET', path: '/contacts', organizationId, query: { ...query, page, per_page: perPage },
        });
        return { page, items: body.contacts ?? [], hasMore: hasMorePages(body) };
      }, Math.min(params.perPage ?? MAX_PER_PAGE, MAX_PER_PAGE), params.page ?? 1);
    },
    async get(contactId) {
      const body = await requester.request<{ contact: Contact }>({ method: 'GET', path: `/contacts/${checkContactId(contactId)}`, organizationId });
      return body.contact;
    },
    async create(input) {
      if ('status' in input) throw new ValidationError('status is not a create field: new contacts start active; use markInactive afterwards.');
      const body = await requester.request<{ contact: Contact }>({ method: 'POST', path: '/contacts', organizationId, body: input, idempotent: false });
      return body.contact;
    },
    async update(contactId, input) {
      if ('status' in input) throw new ValidationError('status is not an update field: use markActive or markInactive.');
      const body = await requester.request<{ contact: Contact }>({ method: 'PUT', path: `/contacts/${checkContactId(contactId)}`, organizationId, body: input });
      return body.contact;
    },
    async delete(contactId) {
      await requester.request({ method: 'DELETE', path: `/contacts/${checkContactId(contactId)}`, organizationId });
    },
    markActive: (contactId, options) => setStatus(contactId, 'active', options),
    markInactive: (contactId, options) => setStatus(contactId, 'inactive', options),
    comments(contactId) {
      const id = checkContactId(contactId);
      return new PageIterator(async (page, perPage) => {
        const body = await requester.request<ListBody & { contact_comments?: ContactComment[] }>({
          method: 'GET', path: `/contacts/${id}/comments`, organizationId, query: { page, per_page: perPage },
        });
        return { page, items: body.contact_comments ?? [], hasMore: hasMorePages(body) };
      });
    },
  };
}

