/**
 * The journal's schema, in SQL that SQLite and PostgreSQL both accept. Money in integer cents; times
 * in epoch ms. A fresh journal gets JOURNAL_SCHEMA at JOURNAL_SCHEMA_VERSION; an older one is
 * brought forward by JOURNAL_MIGRATIONS, one version at a time, in one transaction.
 */
export const JOURNAL_SCHEMA_VERSION = 2;

/** One plan run per plan, one undo run per run: constraints, so two processes racing cannot both make one. */
const RUN_UNIQUENESS = [
  `CREATE UNIQUE INDEX IF NOT EXISTS runs_one_per_plan ON runs (plan_id) WHERE kind = 'plan'`,
  `CREATE UNIQUE INDEX IF NOT EXISTS runs_one_undo_per_run ON runs (undo_of) WHERE kind = 'undo'`,
];

const V2_TABLES = [
  // When and how each fingerprint of a run was taken: read from Zoho, or copied from the scan's snapshot.
  `CREATE TABLE IF NOT EXISTS fingerprint_sets (
    run_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    taken_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    PRIMARY KEY (run_id, phase)
  )`,
  // Each verification of a run: when, whether it passed, and its result (the differences and why).
  `CREATE TABLE IF NOT EXISTS verifications (
    run_id TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    ok INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (run_id, verified_at)
  )`,
  // One policy per organization, shared by the CLI and the service.
  `CREATE TABLE IF NOT EXISTS policies (
    organization_id TEXT PRIMARY KEY,
    policy_text TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
  )`,
];

/** Version 1 → 2: targets, whole-history snapshots, run drivers, fingerprint sets, policies. */
export const JOURNAL_MIGRATIONS: Readonly<Record<number, readonly string[]>> = {
  1: [
    `ALTER TABLE snapshots ADD COLUMN target TEXT NOT NULL DEFAULT ''`,
    `ALTER TABLE snapshots ADD COLUMN organization_name TEXT NOT NULL DEFAULT ''`,
    `ALTER TABLE snapshots ADD COLUMN currency_code TEXT NOT NULL DEFAULT ''`,
    `ALTER TABLE snapshots ADD COLUMN history TEXT NOT NULL DEFAULT 'window'`,
    `ALTER TABLE snapshots ADD COLUMN history_types TEXT NOT NULL DEFAULT '[]'`,
    `ALTER TABLE snapshots ADD COLUMN history_calls INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE snapshot_contacts ADD COLUMN last_activity_number TEXT`,
    `ALTER TABLE snapshot_contacts ADD COLUMN document_by_type TEXT`,
    `ALTER TABLE snapshot_contacts ADD COLUMN history TEXT`,
    `ALTER TABLE plans ADD COLUMN target TEXT NOT NULL DEFAULT ''`,
    `ALTER TABLE runs ADD COLUMN target TEXT NOT NULL DEFAULT ''`,
    `ALTER TABLE runs ADD COLUMN driver TEXT`,
    `ALTER TABLE runs ADD COLUMN driver_since BIGINT`,
    `ALTER TABLE runs ADD COLUMN driver_until BIGINT`,
    ...V2_TABLES,
    // Fingerprints recorded by version 1 were read from Zoho when their run started.
    `INSERT INTO fingerprint_sets (run_id, phase, taken_at, source, row_count)
     SELECT r.run_id, 'before', COALESCE(r.started_at, r.created_at), 'read', CAST(m.value AS INTEGER)
     FROM journal_meta m JOIN runs r ON m.key = 'fingerprint:' || r.run_id || ':before'`,
    `INSERT INTO fingerprint_sets (run_id, phase, taken_at, source, row_count)
     SELECT r.run_id, 'after', COALESCE(r.finished_at, r.created_at), 'read', CAST(m.value AS INTEGER)
     FROM journal_meta m JOIN runs r ON m.key = 'fingerprint:' || r.run_id || ':after'`,
    `DELETE FROM journal_meta WHERE key LIKE 'fingerprint:%'`,
  ],
};

export const JOURNAL_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    organization_name TEXT NOT NULL DEFAULT '',
    currency_code TEXT NOT NULL DEFAULT '',
    taken_at BIGINT NOT NULL,
    cutoff_date TEXT NOT NULL,
    activity_types TEXT NOT NULL,
    statuses TEXT NOT NULL,
    history TEXT NOT NULL DEFAULT 'window',
    history_types TEXT NOT NULL DEFAULT '[]',
    history_calls INTEGER NOT NULL DEFAULT 0,
    api_calls INTEGER NOT NULL,
    contact_count INTEGER NOT NULL,
    transaction_count INTEGER NOT NULL,
    complete INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS snapshot_contacts (
    snapshot_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    company_name TEXT NOT NULL,
    contact_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    receivable_cents BIGINT NOT NULL,
    payable_cents BIGINT NOT NULL,
    credits_receivable_cents BIGINT NOT NULL,
    credits_payable_cents BIGINT NOT NULL,
    custom_fields TEXT NOT NULL,
    tags TEXT NOT NULL,
    zcrm_account_id TEXT NOT NULL,
    zcrm_contact_id TEXT NOT NULL,
    last_activity_date TEXT,
    last_activity_type TEXT,
    last_activity_id TEXT,
    last_activity_number TEXT,
    activity_count INTEGER NOT NULL,
    activity_by_type TEXT NOT NULL,
    document_by_type TEXT,
    history TEXT,
    PRIMARY KEY (snapshot_id, contact_id)
  )`,
  `CREATE TABLE IF NOT EXISTS plans (
    plan_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    snapshot_id TEXT NOT NULL,
    as_of BIGINT NOT NULL,
    cutoff_date TEXT NOT NULL,
    policy_text TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS plan_steps (
    plan_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    contact_id TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_type TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (plan_id, seq)
  )`,
  `CREATE TABLE IF NOT EXISTS plan_exclusions (
    plan_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_type TEXT NOT NULL,
    reasons TEXT NOT NULL,
    detail TEXT NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (plan_id, contact_id)
  )`,
  `CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    plan_id TEXT,
    undo_of TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    baseline_at BIGINT NOT NULL,
    note TEXT NOT NULL,
    driver TEXT,
    driver_since BIGINT,
    driver_until BIGINT
  )`,
  ...RUN_UNIQUENESS,
  `CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    contact_id TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_type TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT,
    state TEXT NOT NULL,
    outcome TEXT,
    skip_reason TEXT,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    started_at BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (run_id, seq)
  )`,
  `CREATE INDEX IF NOT EXISTS steps_run_state ON steps (run_id, state, seq)`,
  `CREATE INDEX IF NOT EXISTS steps_contact ON steps (contact_id, finished_at)`,
  `CREATE TABLE IF NOT EXISTS fingerprints (
    run_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    transaction_type TEXT NOT NULL,
    count INTEGER NOT NULL,
    total_cents BIGINT NOT NULL,
    PRIMARY KEY (run_id, phase, contact_id, transaction_type)
  )`,
  ...V2_TABLES,
];
