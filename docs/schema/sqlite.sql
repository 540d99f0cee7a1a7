-- Sunset's schema on SQLite, as `sunset db schema` prints it (columns sorted by name).

table actions
  column action TEXT NOT NULL
  column action_id TEXT
  column at BIGINT NOT NULL
  column detail TEXT NOT NULL
  column organization_id TEXT
  column subject TEXT
  column username TEXT NOT NULL
  primary key (action_id)
  CREATE INDEX actions_by_organization ON actions (organization_id, at)
  CREATE INDEX actions_by_time ON actions (at)

table budget_calls
  column answered_at BIGINT
  column call_id TEXT
  column expires_at BIGINT NOT NULL
  column organization_id TEXT NOT NULL
  column owner TEXT NOT NULL
  column per_minute INTEGER
  column started_at BIGINT NOT NULL
  primary key (call_id)
  CREATE INDEX budget_calls_by_organization ON budget_calls (organization_id, answered_at)

table budget_organizations
  column organization_id TEXT
  column paused_until BIGINT NOT NULL
  column plan_cap INTEGER
  column quota_limit BIGINT
  column quota_remaining BIGINT
  column quota_reset_at BIGINT
  column refilled_at BIGINT NOT NULL
  column tokens DOUBLE PRECISION NOT NULL
  primary key (organization_id)

table connection_organizations
  column connection_name TEXT NOT NULL
  column organization_id TEXT
  column organization_name TEXT NOT NULL
  column seen_at BIGINT NOT NULL
  column time_zone TEXT NOT NULL
  primary key (organization_id)
  CREATE INDEX connection_organizations_by_connection ON connection_organizations (connection_name)

table connections
  column accounts_url TEXT
  column base_url TEXT
  column client_id TEXT NOT NULL
  column client_secret TEXT NOT NULL
  column created_at BIGINT NOT NULL
  column created_by TEXT NOT NULL
  column data_centre TEXT
  column name TEXT
  column refresh_token TEXT NOT NULL
  column scopes TEXT NOT NULL
  column target TEXT NOT NULL
  column test_error TEXT
  column tested_at BIGINT
  primary key (name)

table fingerprint_sets
  column phase TEXT NOT NULL
  column row_count INTEGER NOT NULL
  column run_id TEXT NOT NULL
  column source TEXT NOT NULL
  column taken_at BIGINT NOT NULL
  primary key (run_id, phase)

table fingerprints
  column contact_id TEXT NOT NULL
  column count INTEGER NOT NULL
  column phase TEXT NOT NULL
  column run_id TEXT NOT NULL
  column total_cents BIGINT NOT NULL
  column transaction_type TEXT NOT NULL
  primary key (run_id, phase, contact_id, transaction_type)

table journal_meta
  column key TEXT
  column value TEXT NOT NULL
  primary key (key)

table notification_outbox
  column attempts INTEGER NOT NULL
  column body TEXT NOT NULL
  column created_at BIGINT NOT NULL
  column dedupe_key TEXT NOT NULL
  column delivered_at BIGINT
  column kind TEXT NOT NULL
  column last_error TEXT
  column lease_owner TEXT
  column lease_until BIGINT
  column next_attempt_at BIGINT NOT NULL
  column notification_id TEXT
  column organization_id TEXT
  column payload TEXT NOT NULL
  column state TEXT NOT NULL
  column subject TEXT NOT NULL
  column subscription_id TEXT NOT NULL
  column username TEXT NOT NULL
  primary key (notification_id)
  CREATE UNIQUE INDEX notification_outbox_dedupe ON notification_outbox (subscription_id, dedupe_key)
  CREATE INDEX notification_outbox_due ON notification_outbox (state, next_attempt_at)
  CREATE INDEX notification_outbox_user ON notification_outbox (username, created_at)

table notification_subscriptions
  column address TEXT NOT NULL
  column channel TEXT NOT NULL
  column clients TEXT
  column created_at BIGINT NOT NULL
  column events TEXT NOT NULL
  column secret TEXT
  column subscription_id TEXT
  column username TEXT NOT NULL
  primary key (subscription_id)
  CREATE INDEX notification_subscriptions_user ON notification_subscriptions (username, created_at)

table organization_clients
  column client TEXT NOT NULL
  column organization_id TEXT
  column updated_at BIGINT NOT NULL
  column updated_by TEXT NOT NULL
  primary key (organization_id)
  CREATE INDEX organization_clients_by_client ON organization_clients (client)

table organization_settings
  column auto_apply_max INTEGER
  column cron TEXT
  column last_run_at BIGINT
  column last_scheduled_at BIGINT
  column organization_id TEXT
  column policy_text TEXT
  column webhook_mapping TEXT NOT NULL
  column webhook_mode TEXT
  column webhook_secret TEXT
  primary key (organization_id)

table organization_time_zones
  column learned_at BIGINT NOT NULL
  column organization_id TEXT
  column time_zone TEXT NOT NULL
  primary key (organization_id)

table plan_exclusions
  column contact_id TEXT NOT NULL
  column contact_name TEXT NOT NULL
  column contact_type TEXT NOT NULL
  column detail TEXT NOT NULL
  column evidence TEXT NOT NULL
  column plan_id TEXT NOT NULL
  column reasons TEXT NOT NULL
  primary key (plan_id, contact_id)

table plan_steps
  column action TEXT NOT NULL
  column contact_id TEXT NOT NULL
  column contact_name TEXT NOT NULL
  column contact_type TEXT NOT NULL
  column evidence TEXT NOT NULL
  column plan_id TEXT NOT NULL
  column reason TEXT NOT NULL
  column seq INTEGER NOT NULL
  primary key (plan_id, seq)

table plans
  column as_of BIGINT NOT NULL
  column created_at BIGINT NOT NULL
  column cutoff_date TEXT NOT NULL
  column organization_id TEXT NOT NULL
  column plan_id TEXT
  column policy_text TEXT NOT NULL
  column snapshot_id TEXT NOT NULL
  column summary TEXT NOT NULL
  column target TEXT NOT NULL DEFAULT ''
  primary key (plan_id)

table policies
  column organization_id TEXT
  column policy_text TEXT NOT NULL
  column updated_at BIGINT NOT NULL
  column updated_by TEXT NOT NULL
  primary key (organization_id)

table runs
  column baseline_at BIGINT NOT NULL
  column created_at BIGINT NOT NULL
  column created_by TEXT NOT NULL
  column driver TEXT
  column driver_since BIGINT
  column driver_until BIGINT
  column finished_at BIGINT
  column kind TEXT NOT NULL
  column note TEXT NOT NULL
  column organization_id TEXT NOT NULL
  column plan_id TEXT
  column run_id TEXT
  column started_at BIGINT
  column state TEXT NOT NULL
  column target TEXT NOT NULL DEFAULT ''
  column undo_of TEXT
  primary key (run_id)
  CREATE UNIQUE INDEX runs_one_per_plan ON runs (plan_id) WHERE kind = 'plan'
  CREATE UNIQUE INDEX runs_one_undo_per_run ON runs (undo_of) WHERE kind = 'undo'

table scan_activity
  column contact_id TEXT NOT NULL
  column count INTEGER NOT NULL
  column latest_date TEXT NOT NULL
  column latest_id TEXT NOT NULL
  column latest_number TEXT NOT NULL
  column recent INTEGER NOT NULL
  column snapshot_id TEXT NOT NULL
  column total_cents BIGINT NOT NULL
  column transaction_type TEXT NOT NULL
  primary key (snapshot_id, contact_id, transaction_type)

table schema_migrations
  column applied_at BIGINT NOT NULL
  column component TEXT NOT NULL
  column name TEXT NOT NULL
  column version INTEGER NOT NULL
  primary key (component, version)

table sessions
  column created_at BIGINT NOT NULL
  column csrf_token TEXT NOT NULL
  column expires_at BIGINT NOT NULL
  column token_hash TEXT
  column username TEXT NOT NULL
  primary key (token_hash)

table sign_in_failures
  column blocked_until BIGINT NOT NULL
  column failures INTEGER NOT NULL
  column kind TEXT NOT NULL
  column last_failed_at BIGINT NOT NULL
  column subject TEXT NOT NULL
  column window_start BIGINT NOT NULL
  primary key (kind, subject)

table snapshot_contacts
  column activity_by_type TEXT NOT NULL
  column activity_count INTEGER NOT NULL
  column company_name TEXT NOT NULL
  column contact_id TEXT NOT NULL
  column contact_name TEXT NOT NULL
  column contact_type TEXT NOT NULL
  column created_at BIGINT NOT NULL
  column credits_payable_cents BIGINT NOT NULL
  column credits_receivable_cents BIGINT NOT NULL
  column custom_fields TEXT NOT NULL
  column document_by_type TEXT
  column history TEXT
  column last_activity_date TEXT
  column last_activity_id TEXT
  column last_activity_number TEXT
  column last_activity_type TEXT
  column modified_at BIGINT NOT NULL
  column payable_cents BIGINT NOT NULL
  column receivable_cents BIGINT NOT NULL
  column snapshot_id TEXT NOT NULL
  column status TEXT NOT NULL
  column tags TEXT NOT NULL
  column zcrm_account_id TEXT NOT NULL
  column zcrm_contact_id TEXT NOT NULL
  primary key (snapshot_id, contact_id)

table snapshots
  column activity_types TEXT NOT NULL
  column api_calls INTEGER NOT NULL
  column complete INTEGER NOT NULL
  column contact_count INTEGER NOT NULL
  column currency_code TEXT NOT NULL DEFAULT ''
  column cutoff_date TEXT NOT NULL
  column history TEXT NOT NULL DEFAULT 'window'
  column history_calls INTEGER NOT NULL DEFAULT 0
  column history_types TEXT NOT NULL DEFAULT '[]'
  column organization_id TEXT NOT NULL
  column organization_name TEXT NOT NULL DEFAULT ''
  column snapshot_id TEXT
  column statuses TEXT NOT NULL
  column taken_at BIGINT NOT NULL
  column target TEXT NOT NULL DEFAULT ''
  column transaction_count INTEGER NOT NULL
  primary key (snapshot_id)

table steps
  column action TEXT NOT NULL
  column attempts INTEGER NOT NULL
  column contact_id TEXT NOT NULL
  column contact_name TEXT NOT NULL
  column contact_type TEXT NOT NULL
  column evidence TEXT
  column finished_at BIGINT
  column last_error TEXT
  column lease_expires_at BIGINT
  column lease_owner TEXT
  column outcome TEXT
  column reason TEXT NOT NULL
  column run_id TEXT NOT NULL
  column seq INTEGER NOT NULL
  column skip_reason TEXT
  column started_at BIGINT
  column state TEXT NOT NULL
  primary key (run_id, seq)
  CREATE INDEX steps_contact ON steps (contact_id, finished_at)
  CREATE INDEX steps_run_state ON steps (run_id, state, seq)

table user_clients
  column client TEXT NOT NULL
  column username TEXT NOT NULL
  primary key (username, client)

table user_invites
  column created_at BIGINT NOT NULL
  column created_by TEXT NOT NULL
  column expires_at BIGINT NOT NULL
  column token_hash TEXT
  column username TEXT NOT NULL
  primary key (token_hash)

table users
  column created_at BIGINT NOT NULL
  column password_hash TEXT NOT NULL
  column role TEXT NOT NULL DEFAULT 'admin'
  column username TEXT
  primary key (username)

table verifications
  column ok INTEGER NOT NULL
  column result TEXT NOT NULL
  column run_id TEXT NOT NULL
  column verified_at BIGINT NOT NULL
  primary key (run_id, verified_at)

table webhook_events
  column action TEXT
  column attempts INTEGER NOT NULL
  column books_contact_id TEXT
  column contact_email TEXT
  column crm_account_id TEXT
  column crm_contact_id TEXT
  column dedupe_key TEXT NOT NULL
  column event_id TEXT
  column last_error TEXT
  column lease_owner TEXT
  column lease_until BIGINT
  column next_attempt_at BIGINT NOT NULL
  column organization_id TEXT NOT NULL
  column payload TEXT NOT NULL
  column received_at BIGINT NOT NULL
  column run_id TEXT
  column source TEXT NOT NULL DEFAULT 'crm'
  column state TEXT NOT NULL
  column status_value TEXT NOT NULL
  column subject TEXT NOT NULL
  primary key (event_id)
  CREATE INDEX webhook_events_dedupe ON webhook_events (organization_id, dedupe_key)
  CREATE UNIQUE INDEX webhook_events_named ON webhook_events (organization_id, dedupe_key) WHERE dedupe_key LIKE 'id:%'
  CREATE INDEX webhook_events_state ON webhook_events (state, next_attempt_at)
  CREATE INDEX webhook_events_subject ON webhook_events (organization_id, subject, received_at)

table webhook_nonces
  column nonce TEXT NOT NULL
  column organization_id TEXT NOT NULL
  column seen_at BIGINT NOT NULL
  primary key (organization_id, nonce)

table webhook_subjects
  column dedupe_key TEXT NOT NULL
  column event_id TEXT NOT NULL
  column organization_id TEXT NOT NULL
  column subject TEXT NOT NULL
  primary key (organization_id, subject)
