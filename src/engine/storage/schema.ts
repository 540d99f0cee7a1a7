/**
 * The journal's schema, in SQL that SQLite and PostgreSQL both accept. Money in integer cents; times
 * in epoch ms. The journal is the `journal` component of the versioned migrations (migrations.ts):
 * version 1 makes the tables as Sunset 0.1 did, each later version changes them. A journal made
 * before the migrations table is adopted at the version its `journal_meta.schema_version` says. `journal_meta.schema_version` follows the component's version, so a Sunset from
 * before the migrations table refuses a journal that moved on.
 */
import { hasTable } from './inspect.js';
import type { Component } from './migrations.js';


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
const JOURNAL_MIGRATIONS: Readonly<Record<number, readonly string[]>> = {
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

/**
 * Version 3: what a scan gathers per contact and transaction type while it reads the history (the
 * count, the total, the counted activity since the cutoff, and the latest document), kept in the
 * journal instead of in memory until the contacts are read; the scan deletes its rows when it
 * finishes.
 */
const V3_TABLES = [
  `CREATE TABLE IF NOT EXISTS scan_activity (
    snapshot_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    transaction_type TEXT NOT NULL,
    count INTEGER NOT NULL,
    total_cents BIGINT NOT NULL,
    recent INTEGER NOT NULL,
    latest_date TEXT NOT NULL,
    latest_id TEXT NOT NULL,
    latest_number TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, contact_id, transaction_type)
  )`,
];

/** Version 1: the tables exactly as Sunset 0.1 made them (never changes: later versions alter them). */
const JOURNAL_V1: readonly string[] = [
  'CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  `CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    taken_at BIGINT NOT NULL,
    cutoff_date TEXT NOT NULL,
    activity_types TEXT NOT NULL,
    statuses TEXT NOT NULL,
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
    activity_count INTEGER NOT NULL,
    activity_by_type TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, contact_id)
  )`,
  `CREATE TABLE IF NOT EXISTS plans (
    plan_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
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
    kind TEXT NOT NULL,
    plan_id TEXT,
    undo_of TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    baseline_at BIGINT NOT NULL,
    note TEXT NOT NULL
  )`,
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
  'CREATE INDEX IF NOT EXISTS steps_run_state ON steps (run_id, state, seq)',
  'CREATE INDEX IF NOT EXISTS steps_contact ON steps (contact_id, finished_at)',
  `CREATE TABLE IF NOT EXISTS fingerprints (
    run_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    transaction_type TEXT NOT NULL,
    count INTEGER NOT NULL,
    total_cents BIGINT NOT NULL,
    PRIMARY KEY (run_id, phase, contact_id, transaction_type)
  )`,
];

/** The journal's migrations (see the top of this file). */
export const JOURNAL_COMPONENT: Component = {
  name: 'journal',
  migrations: [
    {
      version: 1,
      name: 'snapshots, plans, runs, steps, fingerprints',
      up: async (tx) => {
        for (const sql of JOURNAL_V1) await tx.exec(sql);
        await tx.run("INSERT INTO journal_meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING");
      },
    },
    {
      version: 2,
      name: 'targets, whole-history snapshots, run drivers, fingerprint sets, policies',
      up: async (tx) => {
        for (const sql of JOURNAL_MIGRATIONS[1]!) await tx.exec(sql);
        // The one-run-per-plan constraints: a journal of version 1 may already hold two runs of
        // one plan (the race they close). Then the constraint cannot be made; `sunset runs check`
        // names those runs, and the check before each new run still refuses a third.
        for (const [index, column, kind] of [['runs_one_per_plan', 'plan_id', 'plan'], ['runs_one_undo_per_run', 'undo_of', 'undo']] as const) {
          const twice = await tx.get(`SELECT ${column} FROM runs WHERE kind = '${kind}' AND ${column} IS NOT NULL GROUP BY ${column} HAVING COUNT(*) > 1 LIMIT 1`);
          if (!twice) await tx.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${index} ON runs (${column}) WHERE kind = '${kind}'`);
        }
        await tx.run("UPDATE journal_meta SET value = '2' WHERE key = 'schema_version'");
      },
    },
    {
      version: 3,
      name: 'scan activity kept in the journal while a scan reads the history',
      up: async (tx) => {
        for (const sql of V3_TABLES) await tx.exec(sql);
        await tx.run("UPDATE journal_meta SET value = '3' WHERE key = 'schema_version'");
      },
    },
  ],
  async recorded(tx) {
    if (!(await hasTable(tx, 'journal_meta'))) return 0;
    const row = await tx.get<{ value: string }>("SELECT value FROM journal_meta WHERE key = 'schema_version'");
    if (!row) return 0;
    const version = Number(row.value);
    if (!Number.isInteger(version) || version < 1) return 0;
    return version;
  },
};
