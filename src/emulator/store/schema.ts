/**
 * The emulator's SQLite schema. One database holds every account the emulator stands for (one data
 * centre's worth), their organizations, the OAuth state, and a few meta values (id sequence,
 * clock, data centre). Money is kept in integer cents.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
  account_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  client_id TEXT NOT NULL,
  refresh_token TEXT NOT NULL,
  position INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS organizations (
  organization_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  plan TEXT NOT NULL,
  currency_code TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  utc_offset_minutes INTEGER NOT NULL,
  is_default INTEGER NOT NULL,
  position INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS contacts (
  contact_id TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL,
  contact_name TEXT NOT NULL,
  company_name TEXT NOT NULL,
  contact_type TEXT NOT NULL,
  customer_sub_type TEXT NOT NULL,
  status TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  website TEXT NOT NULL,
  notes TEXT NOT NULL,
  currency_code TEXT NOT NULL,
  custom_fields TEXT NOT NULL,
  tags TEXT NOT NULL,
  zcrm_account_id TEXT NOT NULL,
  zcrm_contact_id TEXT NOT NULL,
  is_portal_enabled INTEGER NOT NULL,
  credit_limit_cents INTEGER NOT NULL,
  receivable_cents INTEGER NOT NULL,
  payable_cents INTEGER NOT NULL,
  credits_receivable_cents INTEGER NOT NULL,
  credits_payable_cents INTEGER NOT NULL,
  transaction_count INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  modified_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS contact_comments (
  comment_id TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  description TEXT NOT NULL,
  operation_type TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  transaction_type TEXT NOT NULL,
  commented_by TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS transactions (
  transaction_id TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL,
  type TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  number TEXT NOT NULL,
  reference_number TEXT NOT NULL,
  date TEXT NOT NULL,
  due_date TEXT NOT NULL,
  status TEXT NOT NULL,
  total_cents INTEGER NOT NULL,
  balance_cents INTEGER NOT NULL,
  payment_mode TEXT NOT NULL,
  details TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  modified_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS oauth_clients (
  client_id TEXT PRIMARY KEY,
  client_secret TEXT NOT NULL,
  name TEXT NOT NULL,
  account_id TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS oauth_grants (
  code TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  organization_ids TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  used INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (
  token TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  organization_ids TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS oauth_access_tokens (
  token TEXT PRIMARY KEY,
  refresh_token TEXT NOT NULL,
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  organization_ids TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL
);
`;

/**
 * Columns added since schema version 1 was first written, added in place to an older file that
 * lacks them (the schema version stays 1: the additions are backward compatible). Rows from
 * before accounts existed get `''` and are assigned to the default account when the emulator opens
 * the file.
 */
export const COLUMN_ADDITIONS: ReadonlyArray<{ table: string; column: string; sql: string }> = [
  { table: 'organizations', column: 'account_id', sql: "ALTER TABLE organizations ADD COLUMN account_id TEXT NOT NULL DEFAULT ''" },
  { table: 'oauth_clients', column: 'account_id', sql: "ALTER TABLE oauth_clients ADD COLUMN account_id TEXT NOT NULL DEFAULT ''" },
];

/** Secondary indexes: dropped while bulk seeding and built again after, which is several times faster. */
export const INDEX_SQL: readonly string[] = [
  `CREATE UNIQUE INDEX IF NOT EXISTS contacts_org_name ON contacts (organization_id, contact_name);`,
  `CREATE INDEX IF NOT EXISTS contacts_org_status_name ON contacts (organization_id, status, contact_name);`,
  `CREATE INDEX IF NOT EXISTS contacts_org_created ON contacts (organization_id, created_ms);`,
  `CREATE INDEX IF NOT EXISTS contacts_org_modified ON contacts (organization_id, modified_ms);`,
  `CREATE INDEX IF NOT EXISTS contacts_org_zcrm_account ON contacts (organization_id, zcrm_account_id) WHERE zcrm_account_id <> '';`,
  `CREATE INDEX IF NOT EXISTS contacts_org_zcrm_contact ON contacts (organization_id, zcrm_contact_id) WHERE zcrm_contact_id <> '';`,
  `CREATE INDEX IF NOT EXISTS comments_contact ON contact_comments (contact_id, created_ms);`,
  `CREATE INDEX IF NOT EXISTS transactions_org_type_date ON transactions (organization_id, type, date);`,
  `CREATE INDEX IF NOT EXISTS transactions_contact ON transactions (contact_id, type, date);`,
  `CREATE INDEX IF NOT EXISTS transactions_org_type_modified ON transactions (organization_id, type, modified_ms);`,
  `CREATE INDEX IF NOT EXISTS transactions_org_type_created ON transactions (organization_id, type, created_ms);`,
  `CREATE INDEX IF NOT EXISTS access_tokens_refresh ON oauth_access_tokens (refresh_token);`,
];

export const DATA_TABLES = [
  'contact_comments',
  'transactions',
  'contacts',
  'organizations',
  'accounts',
  'oauth_access_tokens',
  'oauth_refresh_tokens',
  'oauth_grants',
  'oauth_clients',
  'meta',
] as const;
