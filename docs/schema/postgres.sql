-- Sunset's schema on PostgreSQL, as `sunset db schema` prints it (columns sorted by name).

table actions
  column action text NOT NULL
  column action_id text NOT NULL
  column at bigint NOT NULL
  column detail text NOT NULL
  column organization_id text
  column subject text
  column username text NOT NULL
  CREATE INDEX actions_by_organization ON actions USING btree (organization_id, at)
  CREATE INDEX actions_by_time ON actions USING btree (at)
  CREATE UNIQUE INDEX actions_pkey ON actions USING btree (action_id)

table budget_calls
  column answered_at bigint
  column call_id text NOT NULL
  column expires_at bigint NOT NULL
  column organization_id text NOT NULL
  column owner text NOT NULL
  column per_minute integer
  column started_at bigint NOT NULL
  CREATE INDEX budget_calls_by_organization ON budget_calls USING btree (organization_id, answered_at)
  CREATE UNIQUE INDEX budget_calls_pkey ON budget_calls USING btree (call_id)

table budget_organizations
  column organization_id text NOT NULL
  column paused_until bigint NOT NULL
  column plan_cap integer
  column quota_limit bigint
  column quota_remaining bigint
  column quota_reset_at bigint
  column refilled_at bigint NOT NULL
  column tokens double precision NOT NULL
  CREATE UNIQUE INDEX budget_organizations_pkey ON budget_organizations USING btree (organization_id)

table connection_organizations
  column connection_name text NOT NULL
  column organization_id text NOT NULL
  column organization_name text NOT NULL
  column seen_at bigint NOT NULL
  column time_zone text NOT NULL
  CREATE INDEX connection_organizations_by_connection ON connection_organizations USING btree (connection_name)
  CREATE UNIQUE INDEX connection_organizations_pkey ON connection_organizations USING btree (organization_id)

table connections
  column accounts_url text
  column base_url text
  column client_id text NOT NULL
  column client_secret text NOT NULL
  column created_at bigint NOT NULL
  column created_by text NOT NULL
  column data_centre text
  column name text NOT NULL
  column refresh_token text NOT NULL
  column scopes text NOT NULL
  column target text NOT NULL
  column test_error text
  column tested_at bigint
  CREATE UNIQUE INDEX connections_pkey ON connections USING btree (name)

table fingerprint_sets
  column phase text NOT NULL
  column row_count integer NOT NULL
  column run_id text NOT NULL
  column source text NOT NULL
  column taken_at bigint NOT NULL
  CREATE UNIQUE INDEX fingerprint_sets_pkey ON fingerprint_sets USING btree (run_id, phase)

table fingerprints
  column contact_id text NOT NULL
  column count integer NOT NULL
  column phase text NOT NULL
  column run_id text NOT NULL
  column total_cents bigint NOT NULL
  column transaction_type text NOT NULL
  CREATE UNIQUE INDEX fingerprints_pkey ON fingerprints USING btree (run_id, phase, contact_id, transaction_type)

table journal_meta
  column key text NOT NULL
  column value text NOT NULL
  CREATE UNIQUE INDEX journal_meta_pkey ON journal_meta USING btree (key)

table notification_outbox
  column attempts integer NOT NULL
  column body text NOT NULL
  column created_at bigint NOT NULL
  column dedupe_key text NOT NULL
  column delivered_at bigint
  column kind text NOT NULL
  column last_error text
  column lease_owner text
  column lease_until bigint
  column next_attempt_at bigint NOT NULL
  column notification_id text NOT NULL
  column organization_id text
  column payload text NOT NULL
  column state text NOT NULL
  column subject text NOT NULL
  column subscription_id text NOT NULL
  column username text NOT NULL
  CREATE UNIQUE INDEX notification_outbox_dedupe ON notification_outbox USING btree (subscription_id, dedupe_key)
  CREATE INDEX notification_outbox_due ON notification_outbox USING btree (state, next_attempt_at)
  CREATE UNIQUE INDEX notification_outbox_pkey ON notification_outbox USING btree (notification_id)
  CREATE INDEX notification_outbox_user ON notification_outbox USING btree (username, created_at)

table notification_subscriptions
  column address text NOT NULL
  column channel text NOT NULL
  column clients text
  column created_at bigint NOT NULL
  column events text NOT NULL
  column secret text
  column subscription_id text NOT NULL
  column username text NOT NULL
  CREATE UNIQUE INDEX notification_subscriptions_pkey ON notification_subscriptions USING btree (subscription_id)
  CREATE INDEX notification_subscriptions_user ON notification_subscriptions USING btree (username, created_at)

table organization_clients
  column client text NOT NULL
  column organization_id text NOT NULL
  column updated_at bigint NOT NULL
  column updated_by text NOT NULL
  CREATE INDEX organization_clients_by_client ON organization_clients USING btree (client)
  CREATE UNIQUE INDEX organization_clients_pkey ON organization_clients USING btree (organization_id)

table organization_settings
  column auto_apply_max integer
  column cron text
  column last_run_at bigint
  column last_scheduled_at bigint
  column organization_id text NOT NULL
  column policy_text text
  column webhook_mapping text NOT NULL
  column webhook_mode text
  column webhook_secret text
  CREATE UNIQUE INDEX organization_settings_pkey ON organization_settings USING btree (organization_id)

table organization_time_zones
  column learned_at bigint NOT NULL
  column organization_id text NOT NULL
  column time_zone text NOT NULL
  CREATE UNIQUE INDEX organization_time_zones_pkey ON organization_time_zones USING btree (organization_id)

table plan_exclusions
  column contact_id text NOT NULL
  column contact_name text NOT NULL
  column contact_type text NOT NULL
  column detail text NOT NULL
  column evidence text NOT NULL
  column plan_id text NOT NULL
  column reasons text NOT NULL
  CREATE UNIQUE INDEX plan_exclusions_pkey ON plan_exclusions USING btree (plan_id, contact_id)

table plan_steps
  column action text NOT NULL
  column contact_id text NOT NULL
  column contact_name text NOT NULL
  column contact_type text NOT NULL
  column evidence text NOT NULL
  column plan_id text NOT NULL
  column reason text NOT NULL
  column seq integer NOT NULL
  CREATE UNIQUE INDEX plan_steps_pkey ON plan_steps USING btree (plan_id, seq)

table plans
  column as_of bigint NOT NULL
  column created_at bigint NOT NULL
  column cutoff_date text NOT NULL
  column organization_id text NOT NULL
  column plan_id text NOT NULL
  column policy_text text NOT NULL
  column snapshot_id text NOT NULL
  column summary text NOT NULL
  column target text NOT NULL DEFAULT ''::text
  CREATE UNIQUE INDEX plans_pkey ON plans USING btree (plan_id)

table policies
  column organization_id text NOT NULL
  column policy_text text NOT NULL
  column updated_at bigint NOT NULL
  column updated_by text NOT NULL
  CREATE UNIQUE INDEX policies_pkey ON policies USING btree (organization_id)

table runs
  column baseline_at bigint NOT NULL
  column created_at bigint NOT NULL
  column created_by text NOT NULL
  column driver text
  column driver_since bigint
  column driver_until bigint
  column finished_at bigint
  column kind text NOT NULL
  column note text NOT NULL
  column organization_id text NOT NULL
  column plan_id text
  column run_id text NOT NULL
  column started_at bigint
  column state text NOT NULL
  column target text NOT NULL DEFAULT ''::text
  column undo_of text
  CREATE UNIQUE INDEX runs_one_per_plan ON runs USING btree (plan_id) WHERE (kind = 'plan'::text)
  CREATE UNIQUE INDEX runs_one_undo_per_run ON runs USING btree (undo_of) WHERE (kind = 'undo'::text)
  CREATE UNIQUE INDEX runs_pkey ON runs USING btree (run_id)

table scan_activity
  column contact_id text NOT NULL
  column count integer NOT NULL
  column latest_date text NOT NULL
  column latest_id text NOT NULL
  column latest_number text NOT NULL
  column recent integer NOT NULL
  column snapshot_id text NOT NULL
  column total_cents bigint NOT NULL
  column transaction_type text NOT NULL
  CREATE UNIQUE INDEX scan_activity_pkey ON scan_activity USING btree (snapshot_id, contact_id, transaction_type)

table schema_migrations
  column applied_at bigint NOT NULL
  column component text NOT NULL
  column name text NOT NULL
  column version integer NOT NULL
  CREATE UNIQUE INDEX schema_migrations_pkey ON schema_migrations USING btree (component, version)

table sessions
  column created_at bigint NOT NULL
  column csrf_token text NOT NULL
  column expires_at bigint NOT NULL
  column token_hash text NOT NULL
  column username text NOT NULL
  CREATE UNIQUE INDEX sessions_pkey ON sessions USING btree (token_hash)

table sign_in_failures
  column blocked_until bigint NOT NULL
  column failures integer NOT NULL
  column kind text NOT NULL
  column last_failed_at bigint NOT NULL
  column subject text NOT NULL
  column window_start bigint NOT NULL
  CREATE UNIQUE INDEX sign_in_failures_pkey ON sign_in_failures USING btree (kind, subject)

table snapshot_contacts
  column activity_by_type text NOT NULL
  column activity_count integer NOT NULL
  column company_name text NOT NULL
  column contact_id text NOT NULL
  column contact_name text NOT NULL
  column contact_type text NOT NULL
  column created_at bigint NOT NULL
  column credits_payable_cents bigint NOT NULL
  column credits_receivable_cents bigint NOT NULL
  column custom_fields text NOT NULL
  column document_by_type text
  column history text
  column last_activity_date text
  column last_activity_id text
  column last_activity_number text
  column last_activity_type text
  column modified_at bigint NOT NULL
  column payable_cents bigint NOT NULL
  column receivable_cents bigint NOT NULL
  column snapshot_id text NOT NULL
  column status text NOT NULL
  column tags text NOT NULL
  column zcrm_account_id text NOT NULL
  column zcrm_contact_id text NOT NULL
  CREATE UNIQUE INDEX snapshot_contacts_pkey ON snapshot_contacts USING btree (snapshot_id, contact_id)

table snapshots
  column activity_types text NOT NULL
  column api_calls integer NOT NULL
  column complete integer NOT NULL
  column contact_count integer NOT NULL
  column currency_code text NOT NULL DEFAULT ''::text
  column cutoff_date text NOT NULL
  column history text NOT NULL DEFAULT 'window'::text
  column history_calls integer NOT NULL DEFAULT 0
  column history_types text NOT NULL DEFAULT '[]'::text
  column organization_id text NOT NULL
  column organization_name text NOT NULL DEFAULT ''::text
  column snapshot_id text NOT NULL
  column statuses text NOT NULL
  column taken_at bigint NOT NULL
  column target text NOT NULL DEFAULT ''::text
  column transaction_count integer NOT NULL
  CREATE UNIQUE INDEX snapshots_pkey ON snapshots USING btree (snapshot_id)

table steps
  column action text NOT NULL
  column attempts integer NOT NULL
  column contact_id text NOT NULL
  column contact_name text NOT NULL
  column contact_type text NOT NULL
  column evidence text
  column finished_at bigint
  column last_error text
  column lease_expires_at bigint
  column lease_owner text
  column outcome text
  column reason text NOT NULL
  column run_id text NOT NULL
  column seq integer NOT NULL
  column skip_reason text
  column started_at bigint
  column state text NOT NULL
  CREATE INDEX steps_contact ON steps USING btree (contact_id, finished_at)
  CREATE UNIQUE INDEX steps_pkey ON steps USING btree (run_id, seq)
  CREATE INDEX steps_run_state ON steps USING btree (run_id, state, seq)

table user_clients
  column client text NOT NULL
  column username text NOT NULL
  CREATE UNIQUE INDEX user_clients_pkey ON user_clients USING btree (username, client)

table user_invites
  column created_at bigint NOT NULL
  column created_by text NOT NULL
  column expires_at bigint NOT NULL
  column token_hash text NOT NULL
  column username text NOT NULL
  CREATE UNIQUE INDEX user_invites_pkey ON user_invites USING btree (token_hash)

table users
  column created_at bigint NOT NULL
  column password_hash text NOT NULL
  column role text NOT NULL DEFAULT 'admin'::text
  column username text NOT NULL
  CREATE UNIQUE INDEX users_pkey ON users USING btree (username)

table verifications
  column ok integer NOT NULL
  column result text NOT NULL
  column run_id text NOT NULL
  column verified_at bigint NOT NULL
  CREATE UNIQUE INDEX verifications_pkey ON verifications USING btree (run_id, verified_at)

table webhook_events
  column action text
  column attempts integer NOT NULL
  column books_contact_id text
  column contact_email text
  column crm_account_id text
  column crm_contact_id text
  column dedupe_key text NOT NULL
  column event_id text NOT NULL
  column last_error text
  column lease_owner text
  column lease_until bigint
  column next_attempt_at bigint NOT NULL
  column organization_id text NOT NULL
  column payload text NOT NULL
  column received_at bigint NOT NULL
  column run_id text
  column source text NOT NULL DEFAULT 'crm'::text
  column state text NOT NULL
  column status_value text NOT NULL
  column subject text NOT NULL
  CREATE INDEX webhook_events_dedupe ON webhook_events USING btree (organization_id, dedupe_key)
  CREATE UNIQUE INDEX webhook_events_named ON webhook_events USING btree (organization_id, dedupe_key) WHERE (dedupe_key ~~ 'id:%'::text)
  CREATE UNIQUE INDEX webhook_events_pkey ON webhook_events USING btree (event_id)
  CREATE INDEX webhook_events_state ON webhook_events USING btree (state, next_attempt_at)
  CREATE INDEX webhook_events_subject ON webhook_events USING btree (organization_id, subject, received_at)

table webhook_nonces
  column nonce text NOT NULL
  column organization_id text NOT NULL
  column seen_at bigint NOT NULL
  CREATE UNIQUE INDEX webhook_nonces_pkey ON webhook_nonces USING btree (organization_id, nonce)

table webhook_subjects
  column dedupe_key text NOT NULL
  column event_id text NOT NULL
  column organization_id text NOT NULL
  column subject text NOT NULL
  CREATE UNIQUE INDEX webhook_subjects_pkey ON webhook_subjects USING btree (organization_id, subject)
