/**
 * The commands of `sunset`: names (`noun` or `noun verb`), one-line summaries for the help, and
 * each command's module, loaded only when used. The help and the shell completion are made from
 * this table and from what each module exports.
 */
import type { CliIO } from './io.js';

/** An option as node:util parseArgs takes it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
}

export interface CommandModule {
  run(argv: string[], io: CliIO): Promise<number>;
  /** The command's options (its parseArgs config), for the shell completion. */
  OPTIONS?: Readonly<Record<string, OptionSpec>>;
  /** Boolean options it documents as `--no-NAME` (parsed with allowNegative). */
  NEGATABLE?: readonly string[];
  /** The words that may follow the command (`runs show`, `contacts activate`). */
  SUBCOMMANDS?: readonly string[];
}

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
  /**
   * Global options that mean something else to this command, so they may not come before it:
   * `sunset --db x.db emulator start` would take the journal's flag as the emulator's state file.
   */
  ownOptions?: readonly string[];
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  'emulator start': {
    summary: 'Run the local Zoho Books emulator (the embedded default) on a loopback port',
    load: () => import('./commands/emulator-start.js'),
    ownOptions: ['db', 'per-minute'],
  },
  demo: {
    summary: 'The whole story on the embedded emulator: scan, plan (with report), apply, verify, undo',
    load: () => import('./commands/demo.js'),
  },
  'policy init': { summary: 'Write a policy with every default spelled out, to start from', load: () => import('./commands/policy-init.js') },
  scan: { summary: 'Read an organization into a snapshot with as few API calls as possible', load: () => import('./commands/scan.js') },
  plan: { summary: 'Turn policy + snapshot into a plan with evidence; reports as text, JSON, CSV, HTML', load: () => import('./commands/plan.js') },
  apply: { summary: 'Execute a plan (or --resume a run) within Zoho\'s limits, crash-safe', load: () => import('./commands/apply.js') },
  undo: { summary: 'Reverse the changes a run made that are still as it left them', load: () => import('./commands/undo.js') },
  contacts: { summary: 'contacts activate|deactivate ID... or --from FILE.csv, through the journal', load: () => import('./commands/contacts.js') },
  runs: { summary: 'List runs with their counts; runs show RUN for one', load: () => import('./commands/runs.js') },
  audit: { summary: 'Export every change (who, when, contact, from, to, why) as CSV or JSON', load: () => import('./commands/audit.js') },
  verify: { summary: 'Prove a run lost no history: transaction counts and totals before and after', load: () => import('./commands/verify.js') },
  auth: { summary: 'auth login|status|logout: credentials for Zoho (stored owner-only, never printed)', load: () => import('./commands/auth.js') },
  orgs: { summary: 'List the organizations the credentials reach', load: () => import('./commands/orgs.js') },
  serve: { summary: 'Web review and approval, CRM webhooks, schedules, /healthz and /metrics', load: () => import('./commands/serve.js') },
  worker: { summary: 'Does the cluster\'s Zoho work from the job queue (PostgreSQL): scans, applies, undos, verifies', load: () => import('./commands/worker.js') },
  users: { summary: 'users add|list|set-role|remove|unlock: the people of sunset serve, their roles, clients and locks', load: () => import('./commands/users.js') },
  clients: { summary: 'clients list|set|unset: group organizations under the clients they belong to', load: () => import('./commands/clients.js') },
  connections: { summary: 'connections add|list|test|remove|rotate-key: the Zoho accounts reached, secrets sealed', load: () => import('./commands/connections.js') },
  schedules: {
    summary: 'schedules list: what sunset serve scans when, in each organization\'s time zone and yours',
    load: () => import('./commands/schedules.js'),
  },
  notifications: {
    summary: 'notifications list|outbox: who hears about what from sunset serve, and what was sent',
    load: () => import('./commands/notifications.js'),
  },
  db: { summary: 'db status|migrate|schema|copy: schema versions, migrations, and moving to PostgreSQL', load: () => import('./commands/db.js') },
};

/**
 * Options that may also come before the command (`sunset --db team.db runs`): they are moved after
 * it, where the command parses them. The workspace options of the engine commands, and --json and
 * --quiet; each command still refuses one it does not take.
 */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  database: { type: 'string' },
  db: { type: 'string' },
  org: { type: 'string' },
  emulator: { type: 'string' },
  credentials: { type: 'string' },
  'per-minute': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
};
