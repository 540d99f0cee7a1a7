import {
  isZohoDate, isZohoId, MAX_PER_PAGE, TRANSACTION_TYPES, type TransactionRecord, type TransactionType,
} from '../../zoho/index.js';
import { ValidationError } from '../errors.js';
import { hasMorePages, PageIterator, type ListBody } from '../paginate.js';
import type { QueryValue, Requester } from '../request.js';
import { checkContactId, zohoTimestamp } from './contacts.js';

/** Filters every transaction list takes (reference §4). `contactId` becomes `customer_id` or `vendor_id`. */
export interface TransactionListParams {
  contactId?: string;
  date?: string;
  dateStart?: string;
  dateEnd?: string;
  dateBefore?: string;
  dateAfter?: string;
  lastModifiedTime?: Date | string;
  status?: string;
  sortColumn?: 'date' | 'created_time' | 'last_modified_time' | 'total' | 'due_date';
  sortOrder?: 'A' | 'D';
  perPage?: number;
  page?: number;
}

export interface TransactionsResource {
  readonly type: TransactionType;
  list(params?: TransactionListParams): PageIterator<TransactionRecord>;
  get(id: string): Promise<TransactionRecord>;
  /** Creates one (the body in Zoho's field names: `customer_id`/`vendor_id`, `line_items`, `amount`, ...). */
  create(input: Record<string, unknown>): Promise<TransactionRecord>;
}

const DATE_PARAMS = { date: 'date', dateStart: 'date_start', dateEnd: 'date_end', dateBefore: 'date_before', dateAfter: 'date_after' } as const;

export function createTransactionsResource(requester: Requester, organizationId: string, type: TransactionType): TransactionsResource {
  const info = TRANSACTION_TYPES[type];
  return {
    type,
    list(params = {}) {
      const query: Record<string, QueryValue> = {};
      if (params.contactId !== undefined) query[info.contactIdField] = checkContactId(params.contactId);
      for (const [key, wire] of Object.entries(DATE_PARAMS)) {
        const value = params[key as keyof typeof DATE_PARAMS];
        if (value === undefined) continue;
        if (!isZohoDate(value)) throw new ValidationError(`${key} must be a date yyyy-mm-dd (got ${JSON.stringify(value)}).`);
        query[wire] = value;
      }
      if (params.lastModifiedTime !== undefined) query.last_modified_time = zohoTimestamp(params.lastModifiedTime);
      if (params.status !== undefined) query.status = params.status;
      if (params.sortColumn !== undefined) query.sort_column = params.sortColumn;
      if (params.sortOrder !== undefined) query.sort_order = params.sortOrder;
      return new PageIterator(async (page, perPage) => {
        const body = await requester.request<ListBody & Record<string, unknown>>({
          method: 'GET', path: info.path, organizationId, query: { ...query, page, per_page: perPage },
        });
        const items = (body[info.listKey] as TransactionRecord[] | undefined) ?? [];
        return { page, items, hasMore: hasMorePages(body) };
      }, Math.min(params.perPage ?? MAX_PER_PAGE, MAX_PER_PAGE), params.page ?? 1);
    },
    async get(id) {
      if (!isZohoId(id)) throw new ValidationError(`${JSON.stringify(id)} is not a Zoho ${info.label} id: ids are strings of 15 to 19 digits.`);
      const body = await requester.request<Record<string, unknown>>({ method: 'GET', path: `${info.path}/${id}`, organizationId });
      return body[info.singleKey] as TransactionRecord;
    },
    async create(input) {
      const body = await requester.request<Record<string, unknown>>({ method: 'POST', path: info.path, organizationId, body: input, idempotent: false });
      return body[info.singleKey] as TransactionRecord;
    },
  };
}
