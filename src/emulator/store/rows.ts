/** Row shapes of the emulator's tables. */

export interface AccountRow {
  /** A numeric string, like a Zoho user id. */
  account_id: string;
  name: string;
  /** The account's ready-made self-client and refresh token (what info and the admin API show). */
  client_id: string;
  refresh_token: string;
  /** 0 for the default account (the one `/__emulator/info` names at its top level). */
  position: number;
  created_ms: number;
}

export interface OrganizationRow {
  organization_id: string;
  /** The account the organization belongs to; only that account's tokens reach it. */
  account_id: string;
  name: string;
  plan: string;
  currency_code: string;
  time_zone: string;
  utc_offset_minutes: number;
  is_default: number;
  position: number;
  created_ms: number;
}

export interface ContactRow {
  contact_id: string;
  organization_id: string;
  contact_name: string;
  company_name: string;
  contact_type: string;
  customer_sub_type: string;
  status: string;
  email: string;
  phone: string;
  website: string;
  notes: string;
  currency_code: string;
  /** JSON array of custom fields. */
  custom_fields: string;
  /** JSON array of tags. */
  tags: string;
  zcrm_account_id: string;
  zcrm_contact_id: string;
  is_portal_enabled: number;
  credit_limit_cents: number;
  receivable_cents: number;
  payable_cents: number;
  credits_receivable_cents: number;
  credits_payable_cents: number;
  transaction_count: number;
  created_ms: number;
  modified_ms: number;
}

export interface CommentRow {
  comment_id: string;
  organization_id: string;
  contact_id: string;
  description: string;
  operation_type: string;
  transaction_id: string;
  transaction_type: string;
  commented_by: string;
  created_ms: number;
}

export interface TransactionRow {
  transaction_id: string;
  organization_id: string;
  type: string;
  contact_id: string;
  number: string;
  reference_number: string;
  date: string;
  due_date: string;
  status: string;
  total_cents: number;
  balance_cents: number;
  payment_mode: string;
  /** JSON: line items, applied documents. */
  details: string;
  created_ms: number;
  modified_ms: number;
}

export interface TransactionListRow extends TransactionRow {
  contact_name: string;
}
