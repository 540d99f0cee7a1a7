/**
 * `sunset schedules list`, the built CLI as a child process (run `npm run build` first) on a real
 * SQLite file that the service's store wrote: each schedule with its cron in English, its
 * organization's time zone as Zoho said it (or UTC and why), and its next three runs in that zone
 * and in the viewer's (the child's TZ). The schedules are anchored two years ahead, on the night
 * New York springs forward, so the expected times do not depend on today's date.
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createJournal, openSqlite } from '../../src/engine/index.js';
import { createServiceStore } from '../../src/service/index.js';
import type { SchedulesDocument } from '../../src/cli/commands/schedules.js';
import { createHarness, type Exit } from '../helpers/cli.js';

const h = createHarness();
afterEach(() => h.cleanup());
afterAll(() => h.cleanupAll());

const show = (e: Exit): string => `code ${e.code}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`;
const NY = '701000001';
const SYDNEY = '701000002';
const MARS = '701000003';
const UNLEARNED = '701000004';
const CLEARED = '701000005';

/** The second Sunday of March of `year`: New York's spring-forward night (02:00 EST becomes 03:00 EDT). */
function springForward(year: number): Date {
  const first = new Date(Date.UTC(year, 2, 1)).getUTCDay();
  return new Date(Date.UTC(year, 2, 1 + ((7 - first) % 7) + 7));
}

const day = (d: Date, plus = 0): string => new Date(d.getTime() + plus * 86_400_000).toISOString().slice(0, 10);
const weekday = (d: Date, plus = 0): string => ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(d.getTime() + plus * 86_400_000).getUTCDay()]!;

describe('sunset schedules list', () => {
  const year = new Date().getUTCFullYear() + 2;
  const night = springForward(year);
  // Saved the afternoon before (17:00 UTC, 12:00 in New York).
  const nySaved = night.getTime() - 7 * 3_600_000;
  // Sydney in July: standard time, +10:00 (London is on summer time, +01:00).
  const sydneySaved = Date.UTC(year, 6, 1, 0, 0);

  /** A database as `sunset serve` leaves it: the journal, the service's tables, settings and the zones Zoho gave. */
  async function serviceDatabase(): Promise<string> {
    const path = join(h.temp('sunset-schedules-'), 'sunset.db');
    const db = openSqlite(path);
    const journal = createJournal(db);
    await journal.migrate();
    const store = createServiceStore(db);
    await store.migrate(journal);
    const save = async (organizationId: string, fields: { cron: string | null; autoApplyMax?: number; lastScheduledAt: number; lastRunAt?: number }): Promise<void> => {
      await store.saveSettings({ ...(await store.settings(organizationId)), autoApplyMax: null, lastRunAt: null, ...fields });
    };
    await save(NY, { cron: '30 2 * * *', autoApplyMax: 5, lastScheduledAt: nySaved, lastRunAt: nySaved - 86_400_000 });
    await save(SYDNEY, { cron: '0 2 * * *', lastScheduledAt: sydneySaved });
    await save(MARS, { cron: '0 6 * * 1-5', lastScheduledAt: nySaved });
    await save(UNLEARNED, { cron: '15 * * * *', lastScheduledAt: nySaved });
    await save(CLEARED, { cron: null, lastScheduledAt: nySaved });
    await store.saveTimeZones([
      { organizationId: NY, timeZone: 'America/New_York' },
      { organizationId: SYDNEY, timeZone: 'AEST' },
      { organizationId: MARS, timeZone: 'Mars/Olympus' },
      { organizationId: CLEARED, timeZone: 'Asia/Calcutta' },
    ], nySaved);
    await db.close();
    return path;
  }

  it('lists each schedule with its zone and the next three runs in the organization\'s time and the viewer\'s (TZ), across a DST change', async () => {
    const path = await serviceDatabase();
    const json = await h.run(['schedules', 'list', '--database', path, '--json'], { env: { TZ: 'Europe/London' } });
    expect(json.code, show(json)).toBe(0);
    expect(json.stderr).toBe('');
    const doc = JSON.parse(json.stdout) as SchedulesDocument;
    expect(doc.viewerTimeZone).toBe('Europe/London');
    expect(doc.schedules.map((s) => s.organizationId)).toEqual([NY, SYDNEY, MARS, UNLEARNED]);

    const [ny, sydney, mars, unlearned] = doc.schedules as [SchedulesDocument['schedules'][number], ...SchedulesDocument['schedules']];
    expect(ny).toMatchObject({
      cron: '30 2 * * *', description: 'Every day at 02:30 America/New_York time.', autoApplyMax: 5,
      timeZone: { zone: 'America/New_York', zoho: 'America/New_York', problem: null },
      lastRunAt: new Date(nySaved - 86_400_000).toISOString(),
    });
    // 02:30 does not exist that night: the run is at 03:00 EDT (07:00 UTC), then 02:30 EDT (06:30 UTC).
    // London is still on GMT (its clocks change on the last Sunday of March).
    expect(ny.nextRuns).toEqual([
      {
        at: `${day(night)}T07:00:00.000Z`, due: false,
        organization: { iso: `${day(night)}T03:00:00-04:00`, text: `${weekday(night)} ${day(night)} 03:00 GMT-4` },
        viewer: { iso: `${day(night)}T07:00:00+00:00`, text: `${weekday(night)} ${day(night)} 07:00 GMT` },
      },
      {
        at: `${day(night, 1)}T06:30:00.000Z`, due: false,
        organization: { iso: `${day(night, 1)}T02:30:00-04:00`, text: `${weekday(night, 1)} ${day(night, 1)} 02:30 GMT-4` },
        viewer: { iso: `${day(night, 1)}T06:30:00+00:00`, text: `${weekday(night, 1)} ${day(night, 1)} 06:30 GMT` },
      },
      {
        at: `${day(night, 2)}T06:30:00.000Z`, due: false,
        organization: { iso: `${day(night, 2)}T02:30:00-04:00`, text: `${weekday(night, 2)} ${day(night, 2)} 02:30 GMT-4` },
        viewer: { iso: `${day(night, 2)}T06:30:00+00:00`, text: `${weekday(night, 2)} ${day(night, 2)} 06:30 GMT` },
      },
    ]);

    // Zoho said AEST: Sydney. 02:00 there in July is 16:00 UTC the day before, 17:00 in London (BST).
    expect(sydney).toMatchObject({ description: 'Every day at 02:00 Australia/Sydney time.', timeZone: { zone: 'Australia/Sydney', zoho: 'AEST', problem: null }, autoApplyMax: null, lastRunAt: null });
    expect(sydney!.nextRuns.map((r) => [r.at, r.organization.iso, r.viewer.iso])).toEqual([1, 2, 3].map((n) => [
      `${year}-07-0${n}T16:00:00.000Z`, `${year}-07-0${n + 1}T02:00:00+10:00`, `${year}-07-0${n}T17:00:00+01:00`,
    ]));

    // A zone Sunset cannot read, and one the service has not learned: UTC, and each says why.
    expect(mars).toMatchObject({ description: 'Every Monday to Friday at 06:00 UTC.', timeZone: { zone: 'UTC', zoho: 'Mars/Olympus', problem: 'Zoho\'s time zone "Mars/Olympus" is not one Sunset knows: schedules run in UTC' } });
    expect(mars!.nextRuns.every((r) => r.organization.iso.endsWith('T06:00:00+00:00'))).toBe(true);
    expect(unlearned).toMatchObject({ description: 'Every hour at minute 15.', timeZone: { zone: 'UTC', zoho: null, problem: expect.stringMatching(/not known yet/) } });
    expect(unlearned!.nextRuns.map((r) => r.at)).toEqual([1, 2, 3].map((n) => new Date(nySaved + n * 3_600_000 - 45 * 60_000).toISOString()));

    // The same, for a person; another viewer's zone changes only the right-hand column.
    const text = await h.run(['schedules', 'list', '--database', path], { env: { TZ: 'Asia/Tokyo' } });
    expect(text.code, show(text)).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines).toEqual(expect.arrayContaining([
      `Organization ${NY}`,
      '  Schedule   30 2 * * *  Every day at 02:30 America/New_York time.',
      '  Time zone  America/New_York',
      '  Auto-apply plans of up to 5 changes',
      `  Time zone  Australia/Sydney (Zoho says AEST)`,
      `  Note       Zoho's time zone "Mars/Olympus" is not one Sunset knows: schedules run in UTC`,
    ]));
    const header = lines.findIndex((l) => l.startsWith('  Next runs  organization\'s time (America/New_York)'));
    expect(lines[header]).toMatch(/your time \(Asia\/Tokyo\)$/);
    // 07:00 UTC is 16:00 in Tokyo (+09:00, no daylight saving).
    expect(lines[header + 1]).toMatch(new RegExp(`^ +${weekday(night)} ${day(night)} 03:00 GMT-4 +${weekday(night)} ${day(night)} 16:00 GMT\\+9$`));
    expect(text.stdout).not.toContain(CLEARED);
  });

  it('without a database, or on one the service never used, there are no schedules (exit 0)', async () => {
    const dir = h.temp('sunset-schedules-');
    const missing = await h.run(['schedules', 'list', '--database', join(dir, 'none.db')]);
    expect(missing.code, show(missing)).toBe(0);
    expect(missing.stdout).toMatch(/^No schedules: there is no database at .*none\.db/);
    const journalOnly = join(dir, 'journal.db');
    const db = openSqlite(journalOnly);
    await createJournal(db).migrate();
    await db.close();
    const json = await h.run(['schedules', 'list', '--json'], { env: { SUNSET_DATABASE_URL: journalOnly, TZ: 'UTC' } });
    expect(json.code, show(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ viewerTimeZone: 'UTC', schedules: [] });
  });

  it('refuses what it does not take (exit 2), and a database a newer Sunset migrated (exit 1), changing nothing', async () => {
    for (const [args, message] of [
      [['schedules'], 'needs a subcommand: sunset schedules list'],
      [['schedules', 'show'], 'use sunset schedules list'],
      [['schedules', 'list', '--org', '701000001'], '--org'],
    ] as const) {
      const exit = await h.run([...args]);
      expect(exit.code, show(exit)).toBe(2);
      expect(exit.stdout).toBe('');
      expect(exit.stderr).toContain(message);
    }
    const path = await serviceDatabase();
    const db = openSqlite(path);
    await db.run("INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ('service', 99, 'from the future', 1)");
    const before = await db.all('SELECT component, version FROM schema_migrations ORDER BY component, version');
    await db.close();
    const newer = await h.run(['schedules', 'list', '--database', path, '--json']);
    expect(newer.code, show(newer)).toBe(1);
    expect(JSON.parse(newer.stdout)).toMatchObject({ error: { code: 'failure', message: expect.stringMatching(/service has schema version 99, newer than this Sunset knows/) } });
    const after = openSqlite(path);
    expect(await after.all('SELECT component, version FROM schema_migrations ORDER BY component, version')).toEqual(before);
    await after.close();
  });
});
