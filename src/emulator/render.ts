/** Row → wire JSON, in Zoho's shapes (reference §2–§4). */
import {
  formatZohoDate,
  formatZohoTimestamp,
  type TransactionTypeInfo,
} from '../zoho/index.js';
import type { CommentRow, ContactRow, OrganizationRow, TransactionListRow } from './store/rows.js';

export function money(cents: number): number {
  return Math.round(cents) / 100;
}

export function renderOrganization(organization: OrganizationRow, isDefault: boolean): Record<string, unknown> {
  const planType: Record<string, number> = { free: 0, standard: 1, professional: 2, premium: 3 };
  return {
    organization_id: organization.organization_id,
    name: organization.name,
    contact_name: 'Emulator Admin',
    email: 'admin@emulator.invalid',
    is_default_org: isDefault,
    plan_type: planType[organization.plan] ?? 0,
    plan_name: organization.plan.charAt(0).toUpperCase() + organization.plan.slice(1),
    plan_period: 'yearly',
    language_code: 'en',
    fiscal_year_start_month: 0,
    account_created_date: formatZohoDate(organization.created_ms, organization.utc_offset_minutes),
    time_zone: organization.time_zone,
    is_org_active: true,
    currency_id: `${organization.organization_id}000001`,
    currency_code: organization.currency_code,
    currency_symbol: organization.currency_code === 'INR' ? '₹' : organization.currency_code === 'EUR' ? '€' : '$',
    price_precision: 2,
  };
}

function parseJsonArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/** A contact as lists show it; `detail` adds what only `GET /contacts/{id}` carries. */
export function renderContact(row: ContactRow, organization: OrganizationRow, detail: boolean): Record<string, unknown> {
  const offset = organization.utc_offset_minutes;
  const contact: Record<string, unknown> = {
    contact_id: row.contact_id,
    contact_name: row.contact_name,
    company_name: row.company_name,
    contact_type: row.contact_type,
    customer_sub_type: row.customer_sub_type,
    status: row.status,
    email: row.email,
    phone: row.phone,
    currency_code: row.currency_code,
    outstanding_receivable_amount: money(row.receivable_cents),
    outstanding_payable_amount: money(row.payable_cents),
    unused_credits_receivable_amount: money(row.credits_receivable_cents),
    unused_credits_payable_amount: money(row.credits_payable_cents),
    created_time: formatZohoTimestamp(row.created_ms, offset),
    last_modified_time: formatZohoTimestamp(row.modified_ms, offset),
    custom_fields: parseJsonArray(row.custom_fields),
    tags: parseJsonArray(row.tags),
    zcrm_account_id: row.zcrm_account_id,
    zcrm_contact_id: row.zcrm_contact_id,
    is_linked_with_zohocrm: row.zcrm_account_id !== '' || row.zcrm_contact_id !== '',
  };
  if (detail) {
    contact.has_transaction = row.transaction_count > 0;
    contact.website = row.website;
    contact.notes = row.notes;
    contact.credit_limit = money(row.credit_limit_cents);
    contact.is_portal_enabled = row.is_portal_enabled === 1;
    contact.outstanding_receivable_amount_bcy = money(row.receivable_cents);
    contact.unused_credits_receivable_amount_bcy = money(row.credits_receivable_cents);
    contact.outstanding_payable_amount_bcy = money(row.payable_cents);
    contact.unused_credits_payable_amount_bcy = money(row.credits_payable_cents);
  }
  return contact;
}

export function renderComment(row: CommentRow, contactName: string, organization: OrganizationRow): Record<string, unknown> {
  const offset = organization.utc_offset_minutes;
  const stamp = formatZohoTimestamp(row.created_ms, offset);
  return {
    comment_id: row.comment_id,
    contact_id: row.contact_id,
    contact_name: contactName,
    description: row.description,
    commented_by_id: '',
    commented_by: row.commented_by,
    date: formatZohoDate(row.created_ms, offset),
    date_description: stamp,
    time: stamp.slice(11, 16),
    transaction_id: row.transaction_id,
    transaction_type: row.transaction_type,
    is_entity_deleted: false,
    operation_type: row.operation_type,
  };
}

/** The status a reader sees: open documents past their due date read as overdue. */
export function effectiveStatus(row: TransactionListRow, today: string): string {
  if ((row.status === 'sent' || row.status === 'open' || row.status === 'partially_paid') &&
      row.balance_cents > 0 && row.due_date !== '' && row.due_date < today &&
      (row.type === 'invoices' || row.type === 'bills')) {
    return 'overdue';
  }
  return row.status;
}

export function renderTransaction(
  row: TransactionListRow,
  info: TransactionTypeInfo,
  organization: OrganizationRow,
  today: string,
  detail: boolean,
): Record<string, unknown> {
  const offset = organization.utc_offset_minutes;
  const record: Record<string, unknown> = {
    [info.idField]: row.transaction_id,
    [info.numberField]: info.numberIsInteger && /^\d+$/.test(row.number) ? Number(row.number) : row.number,
    [info.contactIdField]: row.contact_id,
    [info.contactNameField]: row.contact_name,
    status: effectiveStatus(row, today),
    reference_number: row.reference_number,
    date: row.date,
    currency_code: organization.currency_code,
    [info.amountField]: money(row.total_cents),
    balance: money(row.balance_cents),
    created_time: formatZohoTimestamp(row.created_ms, offset),
    last_modified_time: formatZohoTimestamp(row.modified_ms, offset),
  };
  if (row.due_date !== '') record.due_date = row.due_date;
  if (row.payment_mode !== '') record.payment_mode = row.payment_mode;
  if (info.amountField === 'amount') record.unused_amount = money(row.balance_cents);
  if (detail && row.details !== '{}') {
    try {
      Object.assign(record, JSON.parse(row.details) as Record<string, unknown>);
    } catch {
      // details are written by the emulator itself; a bad value is simply not shown
    }
  }
  return record;
}
