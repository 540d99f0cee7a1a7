/** `/contacts` routes (reference §2). */
import { scopeName, ZohoCode } from '../../zoho/index.js';
import type { BooksRoute, OrganizationContext } from '../context.js';
import { pageContext } from '../context.js';
import { ZohoHttpError, invalidValue, notFound } from '../http-error.js';
import {
  bodyBoolean, bodyNumber, bodyString, optionalId, optionalText, optionalTime, paging, sortOrder, toCents, zohoId,
} from '../params.js';
import { renderComment, renderContact } from '../render.js';
import { CONTACT_FILTERS, CONTACT_SORT_COLUMNS, type ContactFilter, type TextMatch } from '../store/contacts.js';
import type { ContactRow } from '../store/rows.js';

const READ = [scopeName('contacts', 'READ')];
const CREATE = [scopeName('contacts', 'CREATE')];
const UPDATE = [scopeName('contacts', 'UPDATE')];
const DELETE = [scopeName('contacts', 'DELETE')];
/** Reference §9: the status actions accept UPDATE (product spec) or CREATE (Zoho's OpenAPI). */
const STATUS = [scopeName('contacts', 'UPDATE'), scopeName('contacts', 'CREATE')];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function textMatch(query: URLSearchParams, name: string): TextMatch | undefined {
  const exact = optionalText(query, name);
  const startsWith = optionalText(query, `${name}_startswith`);
  const contains = optionalText(query, `${name}_contains`);
  if (exact === undefined && startsWith === undefined && contains === undefined) return undefined;
  return { exact, startsWith, contains };
}

function listContacts(ctx: OrganizationContext) {
  const q = ctx.query;
  const { page, perPage, offset } = paging(q);
  const filterRaw = q.get('filter_by') || 'Status.All';
  if (!(CONTACT_FILTERS as readonly string[]).includes(filterRaw)) throw invalidValue('filter_by');
  const filterBy = filterRaw as ContactFilter;
  const typeRaw = q.get('contact_type');
  if (typeRaw && typeRaw !== 'customer' && typeRaw !== 'vendor') throw invalidValue('contact_type');
  const sortRaw = q.get('sort_column') || 'contact_name';
  if (!Object.prototype.hasOwnProperty.call(CONTACT_SORT_COLUMNS, sortRaw)) throw invalidValue('sort_column');
  const order = sortOrder(q, 'A');
  const rows = ctx.store.contacts.list({
    organizationId: ctx.organization.organization_id,
    contactType: typeRaw ? (typeRaw as 'customer' | 'vendor') : undefined,
    filterBy,
    searchText: optionalText(q, 'search_text'),
    contactName: textMatch(q, 'contact_name'),
    companyName: textMatch(q, 'company_name'),
    email: textMatch(q, 'email'),
    phone: textMatch(q, 'phone'),
    zcrmAccountId: optionalId(q, 'zcrm_account_id'),
    zcrmContactId: optionalId(q, 'zcrm_contact_id'),
    modifiedSinceMs: optionalTime(q, 'last_modified_time', ctx.organization.utc_offset_minutes),
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
      contacts: rows.map((row) => renderContact(row, ctx.organization, false)),
      page_context: pageContext(page, perPage, hasMore, filterBy, sortRaw, order),
    },
  };
}

/** Loads a contact for a read, update or delete: malformed id → code 2, unknown → 404 code 1002. */
function loadContact(ctx: OrganizationContext): ContactRow {
  const id = zohoId(ctx.params.contact_id, 'contact_id');
  const row = ctx.store.contacts.get(ctx.organization.organization_id, id);
  if (!row) throw notFound('Contact');
  return row;
}

interface ContactFields {
  contact_name?: string;
  company_name?: string;
  contact_type?: string;
  customer_sub_type?: string;
  email?: string;
  phone?: string;
  website?: string;
  notes?: string;
  currency_code?: string;
  custom_fields?: string;
  tags?: string;
  zcrm_account_id?: string;
  zcrm_contact_id?: string;
  is_portal_enabled?: number;
  credit_limit_cents?: number;
}

function readCustomFields(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > 100) throw invalidValue('custom_fields');
  const fields = value.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw invalidValue('custom_fields');
    const f = item as Record<string, unknown>;
    const apiName = typeof f.api_name === 'string' ? f.api_name : typeof f.label === 'string' ? `cf_${f.label.toLowerCase().replace(/[^a-z0-9]+/g, '_')}` : undefined;
    if (!apiName || apiName.length > 100) throw invalidValue('custom_fields', 'each needs an api_name or label');
    const raw = f.value;
    if (raw !== null && raw !== undefined && typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw invalidValue('custom_fields', 'values are strings, numbers or booleans');
    }
    const text = raw === null || raw === undefined ? '' : String(raw);
    if (text.length > 1000) throw invalidValue('custom_fields');
    return {
      customfield_id: typeof f.customfield_id === 'string' ? f.customfield_id : '',
      api_name: apiName,
      label: typeof f.label === 'string' ? f.label : apiName.replace(/^cf_/, ''),
      index: i + 1,
      data_type: 'string',
      value: text,
    };
  });
  return JSON.stringify(fields);
}

function readTags(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > 50) throw invalidValue('tags');
  const tags = value.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) throw invalidValue('tags');
    const t = item as Record<string, unknown>;
    const text = (k: string): string => {
      const v = t[k];
      if (v === undefined || v === null) return '';
      if (typeof v !== 'string' || v.length > 100) throw invalidValue('tags');
      return v;
    };
    const tag = { tag_id: text('tag_id'), tag_name: text('tag_name'), tag_option_id: text('tag_option_id'), tag_option_name: text('tag_option_name') };
    if (tag.tag_id === '' && tag.tag_name === '') throw invalidValue('tags', 'each needs a tag_id or tag_name');
    return tag;
  });
  return JSON.stringify(tags);
}

function readCrmId(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (value === '') return '';
  if (typeof value !== 'string' || !/^[0-9]{1,19}$/.test(value)) throw invalidValue(key);
  return value;
}

/** The fields a create or update may set. `status` is not one of them (reference §2). */
function readContactFields(body: Record<string, unknown>): ContactFields {
  const fields: ContactFields = {};
  const name = bodyString(body, 'contact_name', 200);
  if (name !== undefined) {
    if (name.trim() === '') throw invalidValue('contact_name');
    fields.contact_name = name.trim();
  }
  fields.company_name = bodyString(body, 'company_name', 200);
  const type = bodyString(body, 'contact_type', 20);
  if (type !== undefined && type !== 'customer' && type !== 'vendor') throw invalidValue('contact_type');
  fields.contact_type = type;
  const subType = bodyString(body, 'customer_sub_type', 20);
  if (subType !== undefined && subType !== 'business' && subType !== 'individual') throw invalidValue('customer_sub_type');
  fields.customer_sub_type = subType;
  const email = bodyString(body, 'email', 100);
  if (email !== undefined && email !== '' && !EMAIL.test(email)) throw invalidValue('email');
  fields.email = email;
  fields.phone = bodyString(body, 'phone', 50);
  fields.website = bodyString(body, 'website', 200);
  fields.notes = bodyString(body, 'notes', 5000);
  const currency = bodyString(body, 'currency_code', 3);
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) throw invalidValue('currency_code');
  fields.currency_code = currency;
  fields.custom_fields = readCustomFields(body.custom_fields);
  fields.tags = readTags(body.tags);
  fields.zcrm_account_id = readCrmId(body, 'zcrm_account_id');
  fields.zcrm_contact_id = readCrmId(body, 'zcrm_contact_id');
  const portal = bodyBoolean(body, 'is_portal_enabled');
  fields.is_portal_enabled = portal === undefined ? undefined : portal ? 1 : 0;
  const limit = bodyNumber(body, 'credit_limit', { min: 0 });
  fields.credit_limit_cents = limit === undefined ? undefined : toCents(limit, 'credit_limit');
  return fields;
}

function assertNameFree(ctx: OrganizationContext, name: string, exceptId?: string): void {
  const clash = ctx.store.contacts.getByName(ctx.organization.organization_id, name);
  if (clash && clash.contact_id !== exceptId) throw new ZohoHttpError(ZohoCode.DUPLICATE_NAME);
}

function addHistory(ctx: OrganizationContext, contactId: string, description: string, operation: string): void {
  ctx.store.contacts.addComment({
    comment_id: ctx.store.ids.next(),
    organization_id: ctx.organization.organization_id,
    contact_id: contactId,
    description,
    operation_type: operation,
    transaction_id: '',
    transaction_type: 'contact',
    commented_by: ctx.actor,
    created_ms: ctx.now,
  });
}

function createContact(ctx: OrganizationContext) {
  const fields = readContactFields(ctx.body());
  if (fields.contact_name === undefined) throw invalidValue('contact_name', 'it is required');
  const name = fields.contact_name;
  return ctx.store.tx(() => {
    assertNameFree(ctx, name);
    const row: ContactRow = {
      contact_id: ctx.store.ids.next(),
      organization_id: ctx.organization.organization_id,
      contact_name: name,
      company_name: fields.company_name ?? '',
      contact_type: fields.contact_type ?? 'customer',
      customer_sub_type: fields.customer_sub_type ?? 'business',
      status: 'active',
      email: fields.email ?? '',
      phone: fields.phone ?? '',
      website: fields.website ?? '',
      notes: fields.notes ?? '',
      currency_code: fields.currency_code ?? ctx.organization.currency_code,
      custom_fields: fields.custom_fields ?? '[]',
      tags: fields.tags ?? '[]',
      zcrm_account_id: fields.zcrm_account_id ?? '',
      zcrm_contact_id: fields.zcrm_contact_id ?? '',
      is_portal_enabled: fields.is_portal_enabled ?? 0,
      credit_limit_cents: fields.credit_limit_cents ?? 0,
      receivable_cents: 0,
      payable_cents: 0,
      credits_receivable_cents: 0,
      credits_payable_cents: 0,
      transaction_count: 0,
      created_ms: ctx.now,
      modified_ms: ctx.now,
    };
    ctx.store.contacts.insert(row);
    addHistory(ctx, row.contact_id, 'Contact created', 'Added');
    return {
      status: 201,
      body: { code: 0, message: 'The contact has been created', contact: renderContact(row, ctx.organization, true) },
    };
  });
}

function getContact(ctx: OrganizationContext) {
  const row = loadContact(ctx);
  return { body: { code: 0, message: 'success', contact: renderContact(row, ctx.organization, true) } };
}

function updateContact(ctx: OrganizationContext) {
  const row = loadContact(ctx);
  const fields = readContactFields(ctx.body());
  return ctx.store.tx(() => {
    if (fields.contact_name !== undefined && fields.contact_name !== row.contact_name) {
      assertNameFree(ctx, fields.contact_name, row.contact_id);
    }
    if (fields.contact_type !== undefined && fields.contact_type !== row.contact_type && row.transaction_count > 0) {
      throw invalidValue('contact_type', 'a contact with transactions keeps its type');
    }
    const updated: ContactRow = { ...row };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) (updated as unknown as Record<string, unknown>)[key] = value;
    }
    updated.modified_ms = ctx.now;
    ctx.store.contacts.update(updated);
    addHistory(ctx, row.contact_id, 'Contact details updated', 'Updated');
    return { body: { code: 0, message: 'Contact has been updated successfully', contact: renderContact(updated, ctx.organization, true) } };
  });
}

function deleteContact(ctx: OrganizationContext) {
  const row = loadContact(ctx);
  if (row.transaction_count > 0) throw new ZohoHttpError(ZohoCode.HAS_TRANSACTIONS);
  ctx.store.tx(() => ctx.store.contacts.delete(row.contact_id));
  return { body: { code: 0, message: 'The contact has been deleted.' } };
}

/** Status actions: an unknown, deleted or malformed id answers code 2 (reference §9). */
function setStatus(target: 'active' | 'inactive') {
  return (ctx: OrganizationContext) => {
    const raw = ctx.params.contact_id;
    const row = raw !== undefined && /^[0-9]{15,19}$/.test(raw) ? ctx.store.contacts.get(ctx.organization.organization_id, raw) : undefined;
    if (!row) throw new ZohoHttpError(ZohoCode.INVALID_VALUE);
    if (row.status === target) {
      throw new ZohoHttpError(target === 'active' ? ZohoCode.ALREADY_ACTIVE : ZohoCode.ALREADY_INACTIVE);
    }
    ctx.store.tx(() => {
      ctx.store.contacts.setStatus(row.contact_id, target, ctx.now);
      addHistory(ctx, row.contact_id, `Contact marked as ${target}.`, target === 'active' ? 'Marked as Active' : 'Marked as Inactive');
    });
    return { body: { code: 0, message: `The contact has been marked as ${target}.` } };
  };
}

function listComments(ctx: OrganizationContext) {
  const row = loadContact(ctx);
  const { page, perPage, offset } = paging(ctx.query);
  const comments = ctx.store.contacts.listComments(row.contact_id, perPage, offset);
  const hasMore = comments.length > perPage;
  if (hasMore) comments.pop();
  return {
    body: {
      code: 0,
      message: 'success',
      contact_comments: comments.map((c) => renderComment(c, row.contact_name, ctx.organization)),
      page_context: pageContext(page, perPage, hasMore, '', 'date', 'D'),
    },
  };
}

export const contactRoutes: ReadonlyArray<[string, string, BooksRoute]> = [
  ['GET', '/contacts', { level: 'organization', scopes: READ, handler: listContacts }],
  ['POST', '/contacts', { level: 'organization', scopes: CREATE, handler: createContact }],
  ['GET', '/contacts/:contact_id', { level: 'organization', scopes: READ, handler: getContact }],
  ['PUT', '/contacts/:contact_id', { level: 'organization', scopes: UPDATE, handler: updateContact }],
  ['DELETE', '/contacts/:contact_id', { level: 'organization', scopes: DELETE, handler: deleteContact }],
  ['POST', '/contacts/:contact_id/active', { level: 'organization', scopes: STATUS, handler: setStatus('active') }],
  ['POST', '/contacts/:contact_id/inactive', { level: 'organization', scopes: STATUS, handler: setStatus('inactive') }],
  ['GET', '/contacts/:contact_id/comments', { level: 'organization', scopes: READ, handler: listComments }],
];
