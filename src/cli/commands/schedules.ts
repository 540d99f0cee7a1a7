/**
 * `sunset schedules list`: the schedules `sunset serve` runs, each with its cron in English, its
 * organization's time zone and its next three runs in that zone and in the viewer's (this
 * process's: TZ). Read from the database the service uses, where the service keeps each
 * organization's time zone as Zoho last said it; nothing is asked of Zoho.
 */
import { parseArgs } from 'node:util';
import { databaseLabel, migrationStatus, MigrationError, type SqlDatabase } from '../../engine/index.js';
import {
  createServiceStore, describeCron, parseCron, resolveTimeZone, SERVICE_COMPONENT, upcomingRuns, type OrganizationSettings, type TimeZone,
} from '../../service/index.js';
import { parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { NoJournalError, openStorage, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset schedules list [--database URL|FILE] [--json]

Lists the schedules \`sunset serve\` runs, one per organization that has one: its cron and what it
means, the organization's time zone (the cron is read there), whether plans are applied without
review, the last scheduled scan, and the next three runs in the organization's time and in yours
(this machine's time zone; set TZ to see another, e.g. TZ=Europe/London).

The organization's time zone is what Zoho says (its \`time_zone\`), as the service last learned it
when it listed the organizations; the command reads it from the database and asks Zoho nothing.
Until the service has learned it, or when Sunset cannot read Zoho's name, the schedule runs in
UTC, and the list says why.

Options:
  --database URL|FILE   The database \`sunset serve\` uses: a SQLite file        SUNSET_DATABASE_URL
                        (default ./sunset.db) or a postgres:// URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --json                Print JSON on stdout; a failure is {"error": {...}} there
  --help, -h            Show this help
`;

export const OPTIONS = { database: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } as const;

export const SUBCOMMANDS = ['list'] as const;

/** A run's time in one zone: its ISO form with that zone's offset, and how a person reads it. */
export interface ZonedTime {
  /** `2026-03-08T03:00:00-04:00`. */
  iso: string;
  /** `Sun 2026-03-08 03:00 GMT-4`. */
  text: string;
}

export interface ScheduleListing {
  organizationId: string;
  cron: string;
  description: string;
  timeZone: TimeZone;
  /** Plans with at most this many steps are applied without review (null: every plan waits). */
  autoApplyMax: number | null;
  /** When a scheduled scan last ran (ISO; null: never). */
  lastRunAt: string | null;
  /**
   * The next three runs: the instant, and that instant in the organization's zone and in the
   * viewer's. `due`: its time has passed (the service was down, or has not checked since): the
   * service runs it at its next check, and the runs after it are those after now.
   */
  nextRuns: Array<{ at: string; organization: ZonedTime; viewer: ZonedTime; due: boolean }>;
}

/** What `--json` prints. */
export interface SchedulesDocument {
  /** The zone "viewer" times are in: this process's (TZ). */
  viewerTimeZone: string;
  schedules: ScheduleListing[];
}

/** An instant in a zone, read with Intl (the zone data croner uses too). */
export function zonedTime(t: number, timeZone: string): ZonedTime {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset',
  }).formatToParts(t).map((p) => [p.type, p.value]));
  // "GMT+05:30" (or "GMT" at +00:00): "+05:30" in the ISO form, "GMT+5:30" for a person, "GMT" at UTC.
  const gmt = parts.timeZoneName ?? 'GMT';
  const offset = gmt === 'GMT' ? '+00:00' : gmt.slice(3);
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  const short = offset === '+00:00' ? 'GMT' : `GMT${offset.replace(/:00$/, '').replace(/^([+-])0/, '$1')}`;
  return { iso: `${date}T${parts.hour}:${parts.minute}:${parts.second}${offset}`, text: `${parts.weekday} ${date} ${parts.hour}:${parts.minute} ${short}` };
}

/** One organization's schedule as listed: its next runs as the service counts them (cron.ts: upcomingRuns). */
export function listing(s: OrganizationSettings & { cron: string }, zoho: string | undefined, viewerTimeZone: string, now: number): ScheduleListing {
  const timeZone = resolveTimeZone(zoho);
  const cron = parseCron(s.cron);
  return {
    organizationId: s.organizationId,
    cron: s.cron,
    description: describeCron(cron, timeZone.zone),
    timeZone,
    autoApplyMax: s.autoApplyMax,
    lastRunAt: s.lastRunAt === null ? null : new Date(s.lastRunAt).toISOString(),
    nextRuns: upcomingRuns(cron, s.lastScheduledAt, now, 3, timeZone.zone).map((t) => ({
      at: new Date(t).toISOString(), organization: zonedTime(t, timeZone.zone), viewer: zonedTime(t, viewerTimeZone), due: t <= now,
    })),
  };
}

function renderText(doc: SchedulesDocument, where: string): string {
  if (doc.schedules.length === 0) return `No schedules in ${where}: set one in \`sunset serve\` (an organization's Settings).\n`;
  const out: string[] = [];
  for (const s of doc.schedules) {
    const zone = s.timeZone;
    out.push(`Organization ${s.organizationId}`);
    out.push(`  Schedule   ${s.cron}  ${s.description}`);
    out.push(`  Time zone  ${zone.zone}${zone.zoho !== null && zone.zoho !== zone.zone ? ` (Zoho says ${zone.zoho})` : ''}`);
    if (zone.problem) out.push(`  Note       ${zone.problem}`);
    out.push(`  Auto-apply ${s.autoApplyMax === null ? 'no: every plan waits for review' : `plans of up to ${s.autoApplyMax} change${s.autoApplyMax === 1 ? '' : 's'}`}`);
    out.push(`  Last run   ${s.lastRunAt === null ? 'never' : zonedTime(Date.parse(s.lastRunAt), doc.viewerTimeZone).text}`);
    if (s.nextRuns.length === 0) {
      out.push('  Next runs  none: that date never comes');
    } else {
      const left = `organization's time (${zone.zone})`;
      const width = Math.max(left.length, ...s.nextRuns.map((r) => r.organization.text.length));
      out.push(`  Next runs  ${left.padEnd(width)}   your time (${doc.viewerTimeZone})`);
      for (const r of s.nextRuns) {
        const due = r.due ? '   (due: the service runs it at its next check)' : '';
        out.push(`             ${r.organization.text.padEnd(width)}   ${r.viewer.text}${due}`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

/** The service's tables, at this Sunset's version (null: the service never used this database). */
async function serviceStore(database: SqlDatabase, label: string): Promise<ReturnType<typeof createServiceStore> | null> {
  const [status] = await migrationStatus(database, [SERVICE_COMPONENT]);
  if (status!.current === 0) return null;
  const store = createServiceStore(database);
  try {
    // As `sunset serve` would at its start (the time zones came with version 3).
    await store.migrate();
  } catch (error) {
    if (error instanceof MigrationError) throw new ExitError(`${label}: ${error.message}`);
    throw error;
  }
  return store;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'schedules');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new ExitError(`\`sunset schedules\` needs a subcommand: sunset schedules list.\n\n${HELP}`, EXIT.usage);
  if (positionals[0] !== 'list' || positionals.length !== 1) throw new ExitError(`Unknown argument "${positionals.join(' ')}": use sunset schedules list.`, EXIT.usage);
  const values = withEnvTwins(given, io.env, OPTIONS);
  const location = values.db ?? 'sunset.db';
  const label = databaseLabel(location);
  const viewerTimeZone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  const now = Date.now();
  const empty: SchedulesDocument = { viewerTimeZone, schedules: [] };
  let storage: Awaited<ReturnType<typeof openStorage>>;
  try {
    storage = await openStorage(location, { create: false });
  } catch (error) {
    if (!(error instanceof NoJournalError)) throw error;
    io.stdout.write(values.json ? `${JSON.stringify(empty)}\n` : `No schedules: there is no database at ${error.path} (\`sunset serve\` makes one).\n`);
    return 0;
  }
  try {
    const store = await serviceStore(storage.database, label);
    const doc: SchedulesDocument = { ...empty };
    if (store) {
      const zones = await store.timeZones();
      for (const s of await store.allSettings()) {
        if (s.cron !== null) doc.schedules.push(listing({ ...s, cron: s.cron }, zones.get(s.organizationId), viewerTimeZone, now));
      }
    }
    io.stdout.write(values.json ? `${JSON.stringify(doc)}\n` : renderText(doc, label));
    return 0;
  } finally {
    await storage.journal.close();
  }
}
