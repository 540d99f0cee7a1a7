/**
 * The engine's port to Zoho Books: the few operations it needs, in its own terms. Only
 * zoho-adapter.ts implements it with the client; tests may implement it with anything real.
 */
import type { ContactType, TransactionType } from '../zoho/index.js';

export interface PortContact {
  contactId: string;
  contactName: string;
  companyName: string;
  contactType: ContactType;
  status: 'active' | 'inactive';
  createdAt: number;
  modifiedAt: number;
  receivableCents: number;
  payableCents: number;
  creditsReceivableCents: number;
  creditsPayableCents: number;
  customFields: Record<string, string>;
  tags: string[];
  zcrmAccountId: string;
  zcrmContactId: string;
}

export interface PortTransaction {
  transactionId: string;
  type: TransactionType;
  contactId: string;
  /** The document number (INV-000123); a payment's number. */
  number: string;
  date: string;
  totalCents: number;
  modifiedAt: number;
}

export interface QuotaView {
  /** Calls left today, if known. */
  remaining: number | undefined;
  /** When the daily quota resets (epoch ms), if known. */
  resetAt: number | undefined;
  limit: number | undefined;
  perMinute: number;
}

export interface BooksPort {
  readonly organizationId: string;
  /** Where it reaches: `zoho:EU`, `emulator:http://127.0.0.1:8742`, `embedded` (docs/glossary.md, target). */
  readonly target: string;
  /** Contacts page by page; `modifiedSince` for incremental reads. */
  listContacts(options: { status: 'active' | 'inactive' | 'all'; modifiedSince?: number; signal?: AbortSignal }): AsyncIterable<PortContact[]>;
  /** Transactions of one type page by page, dated on or after `dateStart` and/or modified since. */
  listTransactions(type: TransactionType, options: { dateStart?: string; modifiedSince?: number; contactId?: string; signal?: AbortSignal }): AsyncIterable<PortTransaction[]>;
  getContact(contactId: string, signal?: AbortSignal): Promise<PortContact | undefined>;
  /**
   * The contacts linked to a Zoho CRM account or contact (the zcrm_* filters of GET /contacts), or
   * with an e-mail address (its `email` filter): every status, every page.
   */
  findContacts(by: { zcrmAccountId?: string; zcrmContactId?: string; email?: string }, signal?: AbortSignal): Promise<PortContact[]>;
  /** `changed`, or `unchanged` when the contact already was in that state. */
  setStatus(contactId: string, status: 'active' | 'inactive', signal?: AbortSignal): Promise<'changed' | 'unchanged'>;
  /** Calls made through this port so far. */
  apiCalls(): number;
  quota(): QuotaView;
  /**
   * The organizations the credentials reach (for `sunset orgs` and to check a policy's organization),
   * with Zoho's `time_zone` as Zoho writes it (the service's schedules run in it).
   */
  organizations(): Promise<Array<{ organizationId: string; name: string; plan: string; currencyCode?: string; timeZone?: string }>>;
}

/** Thrown by a port when the daily quota is used up; `resetAt` says when to carry on. */
export class QuotaWait extends Error {
  override name = 'QuotaWait';
  constructor(message: string, readonly resetAt: number | undefined) {
    super(message);
  }
}
