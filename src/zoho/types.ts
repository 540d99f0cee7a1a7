/** Wire types of the Books API v3 subset Sunset speaks (reference §2–§4). IDs are strings. */
import type { ContactType, TransactionType } from './transaction-types.js';
import type { Plan } from './limits.js';

export type ContactStatus = 'active' | 'inactive';

export interface PageContext {
  page: number;
  per_page: number;
  has_more_page: boolean;
  applied_filter: string;
  sort_column: string;
  sort_order: 'A' | 'D';
}

export interface CustomField {
  customfield_id: string;
  api_name: string;
  label: string;
  index: number;
  data_type: 'string';
  value: string;
}

export interface Tag {
  tag_id: string;
  tag_name: string;
  tag_option_id: string;
  tag_option_name: string;
}

/** A contact as it appears in `GET /contacts` lists. */
export interface ContactListItem {
  contact_id: string;
  contact_name: string;
  company_name: string;
  contact_type: ContactType;
  customer_sub_type: 'business' | 'individual';
  status: ContactStatus;
  email: string;
  phone: string;
  currency_code: string;
  outstanding_receivable_amount: number;
  outstanding_payable_amount: number;
  unused_credits_receivable_amount: number;
  unused_credits_payable_amount: number;
  created_time: string;
  last_modified_time: string;
  custom_fields: CustomField[];
  tags: Tag[];
  zcrm_account_id: string;
  zcrm_contact_id: string;
  is_linked_with_zohocrm: boolean;
}

/** A contact as `GET /contacts/{id}` returns it: the list fields plus `has_transaction`. */
export interface Contact extends ContactListItem {
  has_transaction: boolean;
  notes: string;
  website: string;
}

export interface ContactComment {
  comment_id: string;
  contact_id: string;
  contact_name: string;
  description: string;
  commented_by_id: string;
  commented_by: string;
  date: string;
  date_description: string;
  time: string;
  transaction_id: string;
  transaction_type: string;
  is_entity_deleted: boolean;
  operation_type: string;
}

export interface Organization {
  organization_id: string;
  name: string;
  is_default_org: boolean;
  plan_type: number;
  plan_name: string;
  currency_code: string;
  time_zone: string;
  is_org_active: boolean;
}

/**
 * A transaction as list responses carry it. The id and number fields are named per type
 * (`invoice_id`, `bill_number`, ...); the common fields are typed here.
 */
export interface TransactionRecord {
  [field: string]: unknown;
  date: string;
  status: string;
  created_time: string;
  last_modified_time: string;
  customer_id?: string;
  customer_name?: string;
  vendor_id?: string;
  vendor_name?: string;
  total?: number;
  amount?: number;
  balance?: number;
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  api_domain: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}

export type { ContactType, TransactionType, Plan };
