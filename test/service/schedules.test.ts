/**
 * Schedules: five-field cron expressions in UTC and in time zones (parsing and next times, pure),
 * and the service's scheduler on a controlled clock (the emulator's frozen clock, moved by the
 * test): a schedule runs scan + plan when due and only then, auto-applies a plan under its cap,
 * leaves a larger one for review, and a schedule missed while the service was down runs once at
 * start-up.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJournal, openSqlite, type RunRecord } from '../../src/engine/index.js';
import { createServiceStore, CronError, describeCron, nextRun, nextRuns, parseCron, resolveTimeZone, upcomingRuns, UTC, type OrganizationView, type PlanDetail, type ScheduleView } from '../../src/service/index.js';
import { tempDir } from '../helpers/emulator.js';
import { policyFor, startTestService, until, type SignedIn, type TestService } from '../helpers/service.js';

const at = (iso: string): number => Date.parse(iso);
const next = (cron: string, after: string): string | undefined => {
  const t = nextRun(parseCron(cron), at(after));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('cron expressions', () => {
  // 2026-03-02 is a Monday.
  it.each([
    ['0 2 * * *', '2026-03-02T06:00:05.000Z', '2026-03-03T02:00:00.000Z'],
    ['0 2 * * *', '2026-03-02T01:59:59.999Z', '2026-03-02T02:00:00.000Z'],
    ['* * * * *', '2026-03-02T06:00:05.000Z', '2026-03-02T06:01:00.000Z'],
    ['*/15 * * * *', '2026-03-02T06:00:05.000Z', '2026-03-02T06:15:00.000Z'],
    ['*/15 * * * *', '2026-03-02T06:15:00.000Z', '2026-03-02T06:30:00.000Z'],
    ['*/15 * * * *', '2026-03-02T23:50:00.000Z', '2026-03-03T00:00:00.000Z'],
    ['10-50/20 * * * *', '2026-03-02T06:00:05.000Z', '2026-03-02T06:10:00.000Z'],
    ['10-50/20 * * * *', '2026-03-02T06:50:00.000Z', '2026-03-02T07:10:00.000Z'],
    ['5/20 3 * * *', '2026-03-02T03:26:00.000Z', '2026-03-02T03:45:00.000Z'],
    ['5 4 * * 1,3', '2026-03-02T06:00:00.000Z', '2026-03-04T04:05:00.000Z'],
    ['30 9 * * mon-fri', '2026-03-06T10:00:00.000Z', '2026-03-09T09:30:00.000Z'],
    ['30 9 * * MON-FRI', '2026-03-07T10:00:00.000Z', '2026-03-09T09:30:00.000Z'],
    ['0 0 * * 0', '2026-03-02T06:00:00.000Z', '2026-03-08T00:00:00.000Z'],
    ['0 0 * * sun', '2026-03-02T06:00:00.000Z', '2026-03-08T00:00:00.000Z'],
    ['0 0 * * 7', '2026-03-02T06:00:00.000Z', '2026-03-08T00:00:00.000Z'],
    ['0 0 * * 5-7', '2026-03-02T06:00:00.000Z', '2026-03-06T00:00:00.000Z'],
    ['0 0 1 jan *', '2026-03-02T06:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['0 0 1 * *', '2026-03-02T06:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['59 23 31 12 *', '2026-12-31T23:59:00.000Z', '2027-12-31T23:59:00.000Z'],
    ['0 0 29 2 *', '2026-03-02T06:00:00.000Z', '2028-02-29T00:00:00.000Z'],
    ['0 0 31 * *', '2026-04-01T00:00:00.000Z', '2026-05-31T00:00:00.000Z'],
    // Both day fields restricted: a day matching either counts (classic cron).
    ['0 12 10 * fri', '2026-03-02T06:00:00.000Z', '2026-03-06T12:00:00.000Z'],
    ['0 12 10 * fri', '2026-03-07T06:00:00.000Z', '2026-03-10T12:00:00.000Z'],
    // Only one day field restricted: only it counts.
    ['0 12 10 * *', '2026-03-02T06:00:00.000Z', '2026-03-10T12:00:00.000Z'],
    ['0 12 * * fri', '2026-03-07T06:00:00.000Z', '2026-03-13T12:00:00.000Z'],
  ])('%s after %s → %s', (cron, after, expected) => {
    expect(next(cron, after)).toBe(expected);
  });

  // The week from Sunday 2026-03-01: the days `0 2 * * DOW` runs on. 7 is Sunday, like 0, in every form.
  const runDays = (dow: string): string[] => {
    const names = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    const cron = parseCron(`0 2 * * ${dow}`);
    const days: string[] = [];
    for (let t = nextRun(cron, at('2026-03-01T00:00:00Z')); t !== undefined && t < at('2026-03-08T00:00:00Z'); t = nextRun(cron, t)) {
      days.push(names[new Date(t).getUTCDay()] as string);
    }
    return days;
  };
  const EVERY_DAY = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

  it.each([
    ['7', ['sun']],
    ['0', ['sun']],
    ['7-7', ['sun']],
    ['0-0', ['sun']],
    ['sun-sun', ['sun']],
    ['SUN', ['sun']],
    ['5-7', ['sun', 'fri', 'sat']],
    ['6-7', ['sun', 'sat']],
    ['fri-7', ['sun', 'fri', 'sat']],
    ['0-7', EVERY_DAY],
    ['1-7', EVERY_DAY],
    ['0-6', EVERY_DAY],
    ['*', EVERY_DAY],
    ['sun-sat', EVERY_DAY],
    ['0,7', ['sun']],
    ['6,7', ['sun', 'sat']],
    ['1,7', ['sun', 'mon']],
    ['7,mon-tue', ['sun', 'mon', 'tue']],
    // Steps over 0-7, as in classic cron, where 7 is the field's last value: */7 is 0 and 7, Sunday.
    ['*/7', ['sun']],
    ['*/2', ['sun', 'tue', 'thu', 'sat']],
    ['*/3', ['sun', 'wed', 'sat']],
    ['1-7/2', ['sun', 'mon', 'wed', 'fri']],
    ['5-7/2', ['sun', 'fri']],
    ['1/2', ['sun', 'mon', 'wed', 'fri']],
    ['7/1', ['sun']],
    ['6/1', ['sun', 'sat']],
  ])('day of week %s runs on %j', (dow, days) => {
    expect(runDays(dow)).toEqual(days);
  });

  it('0 2 * * 7-7 runs on Sundays only, week after week', () => {
    expect(next('0 2 * * 7-7', '2026-03-02T06:00:00.000Z')).toBe('2026-03-08T02:00:00.000Z');
    expect(next('0 2 * * 7-7', '2026-03-08T02:00:00.000Z')).toBe('2026-03-15T02:00:00.000Z');
  });

  it.each([
    ['* * * * 8', 'day of week: 8 is outside 0-6 (7 is Sunday too)'],
    ['* * * * 0-8', 'day of week: 0-8 is outside 0-6 (7 is Sunday too)'],
    ['* * * * 7-8', 'day of week: 7-8 is outside 0-6 (7 is Sunday too)'],
    ['* * * * 7-1', 'day of week: 7-1 is outside 0-6 (7 is Sunday too)'],
    ['* * * * 8/2', 'day of week: 8 is outside 0-6 (7 is Sunday too)'],
    ['* * 0 * *', 'day of month: 0 is outside 1-31'],
    ['* * * 13 *', 'month: 13 is outside 1-12'],
  ])('%j: %s', (cron, message) => {
    expect(() => parseCron(cron)).toThrow(new CronError(message));
  });

  it('a date that never comes has no next time', () => {
    expect(next('0 0 31 4 *', '2026-03-02T06:00:00.000Z')).toBeUndefined();
    expect(next('0 0 30 2 *', '2026-03-02T06:00:00.000Z')).toBeUndefined();
  });

  it.each([
    ['0 2 * * *', 'Every day at 02:00 UTC.'],
    ['30 6 * * 1-5', 'Every Monday to Friday at 06:30 UTC.'],
    ['30 9 * * MON-FRI', 'Every Monday to Friday at 09:30 UTC.'],
    ['15 3 * * 6,0', 'Every Saturday and Sunday at 03:15 UTC.'],
    ['0 0 * * 5-7', 'Every Friday to Sunday at 00:00 UTC.'],
    ['0 0 * * 7', 'Every Sunday at 00:00 UTC.'],
    ['5 4 * * 1,3', 'Every Monday and Wednesday at 04:05 UTC.'],
    ['0 0 1 * *', 'On day 1 of every month at 00:00 UTC.'],
    ['0 0 1,15 * *', 'On days 1 and 15 of every month at 00:00 UTC.'],
    ['0 0 */2 * *', 'On days 1, 3, 5, …, 31 of every month at 00:00 UTC.'],
    ['0 0 1 jan *', 'On day 1 of January at 00:00 UTC.'],
    ['0 0 1 */3 *', 'On day 1 of January, April, July and October at 00:00 UTC.'],
    ['0 0 * 1,7 *', 'Every day in January and July at 00:00 UTC.'],
    ['0 12 10 * fri', 'On day 10 of every month and every Friday at 12:00 UTC.'],
    ['0 2,14 * * *', 'Every day at 02:00 and 14:00 UTC.'],
    ['0 */6 * * *', 'Every day at 00:00, 06:00, 12:00 and 18:00 UTC.'],
    ['5/20 3 * * *', 'Every day at 03:05, 03:25 and 03:45 UTC.'],
    ['* * * * *', 'Every minute.'],
    ['*/15 * * * *', 'Every 15 minutes.'],
    ['10-50/20 * * * *', 'Every 20 minutes from minute 10.'],
    ['*/7 * * * *', 'Every hour at minutes 0, 7, 14, …, 56.'],
    ['5 * * * *', 'Every hour at minute 5.'],
    ['0,30 * * * *', 'Every hour at minutes 0 and 30.'],
    ['0 */2 * * *', 'Every 2 hours at minute 0.'],
    ['0 1-23/2 * * *', 'Every 2 hours at minute 0, from 01:00 UTC.'],
    ['0 9-17 * * 1-5', 'Every hour from 09:00 to 17:00 UTC, every Monday to Friday.'],
    ['*/10 9-17 * * *', 'Every 10 minutes from 09:00 to 17:50 UTC.'],
    ['* 2 * * *', 'Every minute from 02:00 to 02:59 UTC.'],
    ['*/5 * * * 1-5', 'Every 5 minutes, every Monday to Friday.'],
  ])('describes %j as %j', (cron, words) => {
    expect(describeCron(parseCron(cron))).toBe(words);
  });

  it('normalises spacing', () => {
    expect(parseCron('  0   2 *  * * ').text).toBe('0 2 * * *');
  });

  it.each([
    '', '* * * *', '* * * * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * 32 * *', '* * * 13 *', '* * * 0 *',
    '* * * * 8', '* * * * 0-8', '* * * * 7-8', '* * * * 7-0', '* * * * sat-sun', '5-1 * * * *', '*/0 * * * *', '*/x * * * *', 'a * * * *', '1,,2 * * * *', '* * * foo *', '* * * * funday', '-1 * * * *', '1.5 * * * *',
  ])('refuses %j with a CronError', (cron) => {
    expect(() => parseCron(cron)).toThrow(CronError);
  });
});

describe('cron expressions in a time zone (croner under Sunset\'s parser)', () => {
  const runs = (cron: string, zone: string, after: string, count = 3): string[] =>
    nextRuns(parseCron(cron), at(after), count, zone).map((t) => new Date(t).toISOString());

  it('reads clock times in the zone: 02:00 in Sydney is 16:00 UTC (AEST) or 15:00 UTC (AEDT) the day before', () => {
    expect(runs('0 2 * * *', 'Australia/Sydney', '2026-04-03T12:00:00Z', 4)).toEqual([
      '2026-04-03T15:00:00.000Z', '2026-04-04T15:00:00.000Z', '2026-04-05T16:00:00.000Z', '2026-04-06T16:00:00.000Z',
    ]);
    expect(runs('0 2 * * *', 'Asia/Kolkata', '2026-03-02T06:00:05Z', 1)).toEqual(['2026-03-02T20:30:00.000Z']);
    // The day fields are the zone's days: Monday 06:30 in Sydney is Sunday evening in UTC.
    expect(runs('30 6 * * 1', 'Australia/Sydney', '2026-03-02T06:00:05Z', 1)).toEqual(['2026-03-08T19:30:00.000Z']);
  });

  it.each([
    // Spring forward: 02:30 does not exist; it runs once, when the clock jumps to 03:00.
    ['America/New_York', '2026-03-07T12:00:00Z', ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']],
    ['Australia/Sydney', '2026-10-02T20:00:00Z', ['2026-10-03T16:00:00.000Z', '2026-10-04T15:30:00.000Z']],
    // London skips 01:00-02:00: 02:30 is there, once, in summer time.
    ['Europe/London', '2026-03-28T12:00:00Z', ['2026-03-29T01:30:00.000Z', '2026-03-30T01:30:00.000Z']],
    // Fall back: Sydney repeats 02:00-03:00; 02:30 runs once, at its first occurrence.
    ['Australia/Sydney', '2026-04-04T00:00:00Z', ['2026-04-04T15:30:00.000Z', '2026-04-05T16:30:00.000Z']],
    // New York repeats 01:00-02:00, so 02:30 happens once anyway.
    ['America/New_York', '2026-10-31T12:00:00Z', ['2026-11-01T07:30:00.000Z', '2026-11-02T07:30:00.000Z']],
  ])('30 2 * * * in %s after %s runs once on the night the clocks change: %j', (zone, after, expected) => {
    expect(runs('30 2 * * *', zone, after, 2)).toEqual(expected);
  });

  it('a repeated clock time runs once; a rhythm runs through the repeated hour twice and skips the missing one', () => {
    // New York, 2026-11-01: 01:00-02:00 happens twice (EDT, then EST).
    expect(runs('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    expect(runs('30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', 4)).toEqual([
      '2026-11-01T04:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-01T07:30:00.000Z',
    ]);
    // 2026-03-08: 02:00-03:00 does not exist; every half hour goes on in real time.
    expect(runs('*/30 * * * *', 'America/New_York', '2026-03-08T06:00:00Z', 3)).toEqual(['2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z']);
  });

  it('a list of clock times is clock times too: each runs once on both nights', () => {
    expect(runs('0 2,14 * * *', 'America/New_York', '2026-03-07T20:00:00Z', 3)).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-08T18:00:00.000Z', '2026-03-09T06:00:00.000Z']);
    expect(runs('30 2,3 * * *', 'Australia/Sydney', '2026-04-04T12:00:00Z', 3)).toEqual(['2026-04-04T15:30:00.000Z', '2026-04-04T17:30:00.000Z', '2026-04-05T16:30:00.000Z']);
  });

  it('keeps classic cron\'s day rules in a zone: either day field, and 7 is Sunday', () => {
    // 2026-03-10 is a Tuesday; Friday 2026-03-06 comes first.
    expect(runs('0 12 10 * fri', 'Asia/Kolkata', '2026-03-02T06:00:00Z', 2)).toEqual(['2026-03-06T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
    expect(runs('0 0 * * 7', 'Europe/London', '2026-03-02T06:00:00Z', 1)).toEqual(['2026-03-08T00:00:00.000Z']);
    expect(runs('0 0 31 4 *', 'Australia/Sydney', '2026-03-02T06:00:00Z')).toEqual([]);
  });

  it('the next runs of a saved schedule: counted from its last run; one already due first, then those after now', () => {
    const cron = parseCron('0 2 * * *');
    const list = (last: string | null, now: string): string[] => upcomingRuns(cron, last === null ? null : at(last), at(now), 3, 'Asia/Kolkata').map((t) => new Date(t).toISOString());
    expect(list('2026-03-02T06:00:00Z', '2026-03-02T07:00:00Z')).toEqual(['2026-03-02T20:30:00.000Z', '2026-03-03T20:30:00.000Z', '2026-03-04T20:30:00.000Z']);
    expect(list(null, '2026-03-02T07:00:00Z')).toEqual(['2026-03-02T20:30:00.000Z', '2026-03-03T20:30:00.000Z', '2026-03-04T20:30:00.000Z']);
    // Last run on the 1st, the service down since: the run due on the 1st comes first, then the runs after now.
    expect(list('2026-03-01T06:00:00Z', '2026-03-05T07:00:00Z')).toEqual(['2026-03-01T20:30:00.000Z', '2026-03-05T20:30:00.000Z', '2026-03-06T20:30:00.000Z']);
    expect(upcomingRuns(parseCron('0 0 31 4 *'), null, at('2026-03-01T00:00:00Z'), 3)).toEqual([]);
  });

  it('says the zone in English where it names clock times', () => {
    expect(describeCron(parseCron('0 2 * * *'), 'Australia/Sydney')).toBe('Every day at 02:00 Australia/Sydney time.');
    expect(describeCron(parseCron('0 9-17 * * 1-5'), 'Asia/Kolkata')).toBe('Every hour from 09:00 to 17:00 Asia/Kolkata time, every Monday to Friday.');
    expect(describeCron(parseCron('*/15 * * * *'), 'Asia/Kolkata')).toBe('Every 15 minutes.');
    expect(describeCron(parseCron('0 2 * * *'), UTC)).toBe('Every day at 02:00 UTC.');
  });
});

describe('the scheduler', () => {
  let s: TestService;
  let session: SignedIn;
  beforeAll(async () => {
    s = await startTestService({ contacts: 120 });
    // Whole hours of UTC are whole hours here: the organization's zone in Zoho is UTC.
    await s.setTimeZone('UTC');
    session = await s.login();
  });
  afterAll(async () => s.close());

  const setPolicy = async (extra: string): Promise<void> => {
    const r = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text: policyFor(s.organization, extra) } });
    expect(r.status, r.text).toBe(200);
  };
  const setSchedule = async (cron: string | null, autoApplyMax: number | null): Promise<void> => {
    const r = await session.request('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron, autoApplyMax } });
    expect(r.status, r.text).toBe(200);
  };
  /** Moves the clock to the next full hour (+ `plusMs`). */
  const toNextHour = async (plusMs = 0): Promise<number> => {
    const now = s.h.clock.now();
    const target = Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000 + plusMs;
    await s.advance((target - now) / 1000);
    return target;
  };
  const schedule = async (): Promise<ScheduleView> =>
    (await session.get<OrganizationView[]>('/api/orgs')).json.find((o) => o.organizationId === s.organization)!.schedule;
  const latestPlanId = async (): Promise<string | undefined> => (await s.h.journal.latestPlan(s.organization))?.planId;
  const idle = (): boolean => s.service.runner.activeJobs().length === 0;
  const newPlan = (previous: string | undefined): Promise<string> =>
    until(async () => {
      const id = await latestPlanId();
      return id !== undefined && id !== previous && idle() ? id : undefined;
    }, 'the scheduled plan');

  it('runs scan + plan when the cron time comes, once, and not before', async () => {
    await setPolicy('max_changes: 3\n');
    await setSchedule('0 * * * *', null);
    expect(await s.service.tick(), 'not due right after it is set').toEqual([]);
    // Saved, not run: the last run is none, whatever the next one counts from.
    expect((await schedule()).lastRunAt, 'no scan has run yet').toBeNull();
    await toNextHour(-1000);
    expect(await s.service.tick(), 'a second before the hour').toEqual([]);
    expect(await latestPlanId()).toBeUndefined();
    await s.advance(1);
    const due = s.h.clock.now();
    expect(await s.service.tick()).toEqual([s.organization]);
    const planId = await newPlan(undefined);
    expect((await s.h.journal.getPlan(planId))!.steps.length).toBe(3);
    // Marked as run: the next tick does nothing, the next run is an hour on.
    expect(await s.service.tick()).toEqual([]);
    expect(await schedule()).toMatchObject({ lastRunAt: due, nextRunAt: due + 3_600_000 });
    // Another cron counts its next run from its save, and the last run is still the scan that ran.
    await s.advance(600);
    await setSchedule('30 * * * *', null);
    expect(await schedule()).toMatchObject({ cron: '30 * * * *', lastRunAt: due, nextRunAt: due + 1_800_000 });
    await setSchedule('0 * * * *', null);
    // No cap: nothing is applied.
    expect(await s.h.journal.listRuns(s.organization)).toEqual([]);
  });

  it('auto-applies a plan with at most autoApplyMax steps', async () => {
    await setSchedule('0 * * * *', 5);
    const previous = await latestPlanId();
    await toNextHour();
    expect(await s.service.tick()).toEqual([s.organization]);
    const planId = await newPlan(previous);
    const plan = (await s.h.journal.getPlan(planId))!;
    expect(plan.steps.length).toBe(3);
    const run = await until(async () => {
      const r = (await s.h.journal.listRuns(s.organization)).find((x) => x.planId === planId);
      return r && r.state === 'done' && idle() ? r : undefined;
    }, 'the auto-applied run');
    expect(run).toMatchObject({ kind: 'plan', createdBy: 'schedule' });
    expect(await s.h.journal.runCounts(run.runId)).toMatchObject({ total: 3, changed: 3 });
    for (const st of plan.steps) expect(await s.status(st.contactId)).toBe('inactive');
  });

  it('leaves a plan over the cap for review', async () => {
    await setPolicy('max_changes: 4\n');
    await setSchedule('0 * * * *', 2);
    const previous = await latestPlanId();
    const runsBefore = (await s.h.journal.listRuns(s.organization)).length;
    await toNextHour();
    expect(await s.service.tick()).toEqual([s.organization]);
    const planId = await newPlan(previous);
    const plan = (await s.h.journal.getPlan(planId))!;
    expect(plan.steps.length).toBe(4);
    await until(() => (s.logs.some((l) => l.includes(planId) && /over the auto-apply cap/.test(l)) ? true : undefined), 'the left-for-review log line');
    expect(idle()).toBe(true);
    expect((await s.h.journal.listRuns(s.organization)).length).toBe(runsBefore);
    for (const st of plan.steps) expect(await s.status(st.contactId)).toBe('active');
    const r = await session.get<PlanDetail>(`/api/plans/${planId}`);
    expect(r.json.runId).toBeNull();
  });

  it('two ticks at once start one scan; a setting saved while a tick runs is kept', async () => {
    // The defect: a tick wrote back the whole settings row it had read, so a webhook mode saved
    // meanwhile was lost, and two ticks that read the same row both ran the schedule.
    await setSchedule('0 * * * *', null);
    const previous = await latestPlanId();
    await toNextHour();
    const ticks = Promise.all([s.service.tick(), s.service.tick()]);
    const hook = await session.request('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac', mapping: { inactive: ['Churned'], active: ['Active'] } } });
    expect(hook.status, hook.text).toBe(200);
    expect((await ticks).flat()).toEqual([s.organization]);
    await newPlan(previous);
    expect(await s.store.settings(s.organization)).toMatchObject({ webhookMode: 'hmac', mapping: { inactive: ['Churned'], active: ['Active'] }, cron: '0 * * * *' });
  });

  it('a cleared schedule never runs', async () => {
    await setSchedule(null, null);
    await toNextHour();
    await s.advance(86_400);
    expect(await s.service.tick()).toEqual([]);
  });
});

describe('an organization\'s time zone, from what Zoho says', () => {
  it.each([
    // IANA names, in Zoho's older spelling too, in any case.
    ['Asia/Calcutta', 'Asia/Kolkata'],
    ['asia/kolkata', 'Asia/Kolkata'],
    ['Australia/Sydney', 'Australia/Sydney'],
    ['Europe/Kiev', 'Europe/Kyiv'],
    ['America/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
    ['Etc/UTC', 'UTC'],
    // Abbreviations, as Zoho's documentation shows them (its example is PST).
    ['PST', 'America/Los_Angeles'],
    ['est', 'America/New_York'],
    ['IST', 'Asia/Kolkata'],
    ['AEST', 'Australia/Sydney'],
    ['GMT', 'UTC'],
    // A formatted zone: the name in its last brackets.
    ['(GMT 5:30) India Standard Time (Asia/Calcutta)', 'Asia/Kolkata'],
    // Whole-hour offsets (the Etc/ zones count the other way round).
    ['GMT+4', 'Etc/GMT-4'],
    ['UTC-05:00', 'Etc/GMT+5'],
  ])('%j is %s', (zoho, zone) => {
    expect(resolveTimeZone(zoho)).toEqual({ zone, zoho, problem: null });
  });

  it.each(['Mars/Olympus', 'XYZ', 'GMT+5:30', 'GMT+15', '(GMT 5:30) Somewhere (Nowhere/Town)'])('%j is unknown: UTC, and it says so', (zoho) => {
    expect(resolveTimeZone(zoho)).toEqual({ zone: 'UTC', zoho, problem: `Zoho's time zone "${zoho}" is not one Sunset knows: schedules run in UTC` });
  });

  it('none learned yet: UTC, and it says so', () => {
    for (const zoho of [null, undefined, '', '  ']) {
      expect(resolveTimeZone(zoho)).toEqual({ zone: 'UTC', zoho: null, problem: expect.stringMatching(/not known yet.*UTC until then/) });
    }
  });

  it('the service learns it from Zoho\'s organization list, keeps it, and follows a change; an unknown zone runs in UTC and says so', async () => {
    const s = await startTestService({ contacts: 20 });
    try {
      let session = await s.login();
      const view = async (): Promise<OrganizationView> => (await session.get<OrganizationView[]>('/api/orgs')).json.find((o) => o.organizationId === s.organization)!;
      expect((await view()).timeZone).toEqual({ zone: 'Asia/Kolkata', zoho: 'Asia/Calcutta', problem: null });
      expect(await s.store.timeZones()).toEqual(new Map([[s.organizations[0]!, 'Asia/Calcutta'], [s.organizations[1]!, 'America/Bogota']]));
      expect((await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text: policyFor(s.organization) } })).status).toBe(200);
      expect((await session.request('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron: '0 2 * * *' } })).status).toBe(200);

      // Changed in Books: the service sees it once its organization list (kept 5 minutes) is read again.
      await s.setTimeZone('Mars/Olympus');
      expect((await view()).timeZone.zoho, 'still the list read 5 minutes ago').toBe('Asia/Calcutta');
      await s.advance(301);
      const unknown = await view();
      expect(unknown.timeZone).toEqual({ zone: 'UTC', zoho: 'Mars/Olympus', problem: 'Zoho\'s time zone "Mars/Olympus" is not one Sunset knows: schedules run in UTC' });
      expect(unknown.schedule.description).toBe('Every day at 02:00 UTC.');
      expect(s.logs.some((l) => l.includes('"level":40') && l.includes('Mars/Olympus') && l.includes(s.organization))).toBe(true);
      // It runs at 02:00 UTC, through the tick.
      const due = unknown.schedule.nextRunAt!;
      expect(new Date(due).toISOString()).toMatch(/T02:00:00\.000Z$/);
      await s.advance((due - 1000 - s.h.clock.now()) / 1000);
      expect(await s.service.tick()).toEqual([]);
      await s.advance(1);
      expect(await s.service.tick()).toEqual([s.organization]);
      await until(() => (s.service.runner.activeJobs().length === 0 ? true : undefined), 'the scheduled scan');

      await s.setTimeZone('PST');
      await s.advance(301);
      // (The session of 20 hours ago has expired.)
      session = await s.login();
      const pacific = await view();
      expect(pacific.timeZone).toEqual({ zone: 'America/Los_Angeles', zoho: 'PST', problem: null });
      expect(pacific.schedule.description).toBe('Every day at 02:00 America/Los_Angeles time.');
      // March in Los Angeles before the 8th is PST (UTC-8): 02:00 there is 10:00 UTC.
      expect(new Date(pacific.schedule.nextRunAt!).toISOString()).toMatch(/T10:00:00\.000Z$/);
    } finally {
      await s.close();
    }
  });

  it('a schedule saved before zones were kept runs in UTC until the service learns its zone, which the tick asks for', async () => {
    let startedAt = 0;
    const s = await startTestService({
      contacts: 20,
      async beforeListen(store, h) {
        startedAt = h.clock.now();
        await h.journal.savePolicy({ organizationId: h.organization, text: policyFor(h.organization), updatedAt: startedAt, updatedBy: 'test' });
        await store.saveSettings({ ...(await store.settings(h.organization)), cron: '0 2 * * *', lastScheduledAt: startedAt });
        expect(await store.timeZones()).toEqual(new Map());
      },
    });
    try {
      // The start-up tick found no zone and asked Zoho, in the background; nothing else did.
      const zones = await until(async () => {
        const known = await s.store.timeZones();
        return known.size > 0 ? known : undefined;
      }, 'the zones learned');
      expect(zones.get(s.organization)).toBe('Asia/Calcutta');
      expect(s.logs.some((l) => l.includes('organization time zone') && l.includes('Asia/Kolkata'))).toBe(true);
      // Now in Kolkata: 02:00 there is 20:30 UTC.
      const view = (await (await s.login()).get<OrganizationView[]>('/api/orgs')).json.find((o) => o.organizationId === s.organization)!;
      expect(new Date(view.schedule.nextRunAt!).toISOString()).toMatch(/T20:30:00\.000Z$/);
      expect(view.schedule.nextRunAt).toBeGreaterThan(startedAt);
    } finally {
      await s.close();
    }
  });
});

describe('the scheduler in the organization\'s time zone, across daylight saving (real ticks, emulated clock)', () => {
  // The clock only moves forward: the nights run in date order, each from a fresh save of the schedule.
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ contacts: 20 });
    const session = await s.login();
    for (const organization of s.organizations) {
      const r = await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: policyFor(organization) } });
      expect(r.status, r.text).toBe(200);
    }
  });
  afterAll(async () => s.close());

  const idle = (): boolean => s.service.runner.activeJobs().length === 0;

  /**
   * Sets each organization's zone in Zoho and saves its schedule at `from` (the service learns the
   * zone as it checks the organization), then moves the clock to `to` in 15-minute steps with two
   * ticks racing at each step (one claims a due schedule: compare-and-set). Returns when each
   * organization's scheduled scan started, and the schedules as the API showed them once saved.
   */
  const night = async (timeZone: string, schedules: Record<string, string>, from: string, to: string) => {
    expect(at(from)).toBeGreaterThan(s.h.clock.now());
    await s.advance((at(from) - s.h.clock.now()) / 1000);
    const session = await s.login();
    const fired: Record<string, string[]> = {};
    const views: Record<string, OrganizationView> = {};
    // All zones before the first request: the service keeps the organization list 5 minutes.
    for (const organization of Object.keys(schedules)) await s.setTimeZone(timeZone, organization);
    for (const [organization, cron] of Object.entries(schedules)) {
      // Cleared first: saving the same cron again would count from its last run, not from now.
      expect((await session.request('PUT', `/api/orgs/${organization}/schedule`, { body: { cron: null } })).status).toBe(200);
      const r = await session.request<OrganizationView>('PUT', `/api/orgs/${organization}/schedule`, { body: { cron, autoApplyMax: null } });
      expect(r.status, r.text).toBe(200);
      expect(r.json.timeZone).toMatchObject({ zone: timeZone, zoho: timeZone, problem: null });
      views[organization] = r.json;
      fired[organization] = [];
    }
    for (let step = at(from) + 900_000; step <= at(to); step += 900_000) {
      await s.advance((step - s.h.clock.now()) / 1000);
      const started = (await Promise.all([s.service.tick(), s.service.tick()])).flat();
      for (const organization of started) fired[organization]!.push(new Date(step).toISOString());
      if (started.length > 0) await until(() => (idle() ? true : undefined), 'the scheduled scans');
    }
    return { fired, views };
  };
  const iso = (t: number): string => new Date(t).toISOString();

  it('New York, spring forward (2026-03-08): 02:30 does not exist, the scan runs once, at 03:00 EDT', async () => {
    const { fired, views } = await night('America/New_York', { [s.organization]: '30 2 * * *' }, '2026-03-07T17:00:00Z', '2026-03-08T17:00:00Z');
    expect(fired[s.organization]).toEqual(['2026-03-08T07:00:00.000Z']);
    expect(views[s.organization]!.schedule.nextRuns.map(iso)).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
    expect(views[s.organization]!.schedule.description).toBe('Every day at 02:30 America/New_York time.');
  });

  it('Sydney, in summer time: "0 2 * * *" runs at 02:00 Sydney, 15:00 UTC the day before', async () => {
    const { fired } = await night('Australia/Sydney', { [s.organization]: '0 2 * * *' }, '2026-03-10T00:00:00Z', '2026-03-12T00:00:00Z');
    expect(fired[s.organization]).toEqual(['2026-03-10T15:00:00.000Z', '2026-03-11T15:00:00.000Z']);
  });

  it('London, spring forward (2026-03-29): 01:00-02:00 is skipped, 02:30 BST runs once', async () => {
    const { fired } = await night('Europe/London', { [s.organization]: '30 2 * * *' }, '2026-03-28T12:00:00Z', '2026-03-29T12:00:00Z');
    expect(fired[s.organization]).toEqual(['2026-03-29T01:30:00.000Z']);
  });

  it('Sydney, fall back (2026-04-05): 02:30 comes twice, the scan runs once, at the first', async () => {
    const { fired } = await night('Australia/Sydney', { [s.organization]: '30 2 * * *' }, '2026-04-04T02:00:00Z', '2026-04-05T02:00:00Z');
    expect(fired[s.organization]).toEqual(['2026-04-04T15:30:00.000Z']);
  });

  it('Sydney, in standard time: "0 2 * * *" runs at 02:00 Sydney, 16:00 UTC the day before', async () => {
    const { fired } = await night('Australia/Sydney', { [s.organization]: '0 2 * * *' }, '2026-04-06T00:00:00Z', '2026-04-08T00:00:00Z');
    expect(fired[s.organization]).toEqual(['2026-04-06T16:00:00.000Z', '2026-04-07T16:00:00.000Z']);
  });

  it('Sydney, spring forward (2026-10-04): 02:30 does not exist, the scan runs once, at 03:00 AEDT', async () => {
    const { fired } = await night('Australia/Sydney', { [s.organization]: '30 2 * * *' }, '2026-10-03T02:00:00Z', '2026-10-04T02:00:00Z');
    expect(fired[s.organization]).toEqual(['2026-10-03T16:00:00.000Z']);
  });

  it('New York, fall back (2026-11-01): 02:30 runs once; 01:30, which comes twice, runs once, at the first', async () => {
    const [first, second] = s.organizations as [string, string];
    const { fired } = await night('America/New_York', { [first]: '30 2 * * *', [second]: '30 1 * * *' }, '2026-10-31T17:00:00Z', '2026-11-01T17:00:00Z');
    expect(fired[first]).toEqual(['2026-11-01T07:30:00.000Z']);
    expect(fired[second]).toEqual(['2026-11-01T05:30:00.000Z']);
  });
});

describe('a schedule missed while the service was down', () => {
  it('runs once at start-up, not once per missed time; one not yet due does not run', async () => {
    let startedAt = 0;
    const s = await startTestService({
      contacts: 60,
      async beforeListen(store, h) {
        startedAt = h.clock.now();
        // Hourly, last run three days ago: 72 missed times.
        await h.journal.savePolicy({ organizationId: h.organization, text: policyFor(h.organization, 'max_changes: 2\n'), updatedAt: startedAt, updatedBy: 'test' });
        await store.saveSettings({ ...(await store.settings(h.organization)), cron: '0 * * * *', autoApplyMax: null, lastScheduledAt: startedAt - 3 * 86_400_000 });
        // Daily at 02:00, last run an hour ago: next due tomorrow.
        const other = h.t.organizations[1]!;
        await h.journal.savePolicy({ organizationId: other, text: policyFor(other), updatedAt: startedAt, updatedBy: 'test' });
        await store.saveSettings({ ...(await store.settings(other)), cron: '0 2 * * *', autoApplyMax: 1, lastScheduledAt: startedAt - 3_600_000 });
      },
    });
    try {
      // listen() has run the start-up tick: one scan, for the first organization only.
      const plan = await until(async () => {
        const p = await s.h.journal.latestPlan(s.organization);
        return p && s.service.runner.activeJobs().length === 0 ? p : undefined;
      }, 'the start-up scan');
      expect(plan.steps.length).toBe(2);
      const plans = await s.h.db.all<{ organization_id: string }>('SELECT organization_id FROM plans');
      expect(plans.map((p) => p.organization_id)).toEqual([s.organization]);
      const snapshots = await s.h.db.all('SELECT snapshot_id FROM snapshots');
      expect(snapshots).toHaveLength(1);
      expect((await s.store.settings(s.organization)).lastScheduledAt).toBe(startedAt);
      expect((await s.store.settings(s.organizations[1]!)).lastScheduledAt).toBe(startedAt - 3_600_000);
      expect(await s.service.tick()).toEqual([]);
      const runs: RunRecord[] = await s.h.journal.listRuns();
      expect(runs).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('a database from the version before last_run_at', () => {
  it('gets the column and the table\'s new name (organization_settings) at start-up and keeps its settings; a second start-up changes nothing', async () => {
    const dir = tempDir('sunset-store-');
    const path = join(dir.path, 'sunset.db');
    try {
      // org_settings as the previous version created it, with a saved schedule.
      const old = openSqlite(path);
      await old.exec(`CREATE TABLE org_settings (
        organization_id TEXT PRIMARY KEY,
        policy_text TEXT,
        cron TEXT,
        auto_apply_max INTEGER,
        last_scheduled_at BIGINT,
        webhook_mode TEXT,
        webhook_secret TEXT,
        webhook_mapping TEXT NOT NULL
      )`);
      await old.run('INSERT INTO org_settings VALUES (?, ?, ?, ?, ?, ?, ?, ?)', ['701000001', policyFor('701000001'), '0 2 * * *', 5, 1_790_000_000_000, 'hmac', 'a-secret-of-some-length', '{"inactive":["Churned"],"active":["Active"]}']);
      await old.close();

      const db = openSqlite(path);
      const journal = createJournal(db);
      await journal.migrate();
      const store = createServiceStore(db);
      await store.migrate(journal);
      const columns = async (): Promise<string[]> => (await db.all<{ name: string }>('PRAGMA table_info(organization_settings)')).map((c) => c.name);
      expect(await columns()).toContain('last_run_at');
      expect(await db.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%settings'")).toEqual([{ name: 'organization_settings' }]);
      const settings = await store.settings('701000001');
      expect(settings).toEqual({
        organizationId: '701000001', cron: '0 2 * * *', autoApplyMax: 5, lastScheduledAt: 1_790_000_000_000, lastRunAt: null,
        webhookMode: 'hmac', webhookSecret: 'a-secret-of-some-length', mapping: { inactive: ['Churned'], active: ['Active'] },
      });
      // Its policy moved into the journal, where the CLI reads it too (one policy per organization).
      expect(await journal.policy('701000001')).toMatchObject({ text: policyFor('701000001'), updatedBy: 'sunset serve (earlier version)' });
      expect(await db.get("SELECT policy_text FROM organization_settings WHERE organization_id = '701000001'")).toEqual({ policy_text: null });
      await store.saveSettings({ ...settings, lastRunAt: 1_790_000_060_000 });
      expect((await store.settings('701000001')).lastRunAt).toBe(1_790_000_060_000);
      const before = await columns();
      await store.migrate(journal);
      expect(await columns()).toEqual(before);
      expect((await store.settings('701000001')).lastRunAt).toBe(1_790_000_060_000);
      // The same columns as a database made by this version.
      const fresh = openSqlite(join(dir.path, 'fresh.db'));
      await createServiceStore(fresh).migrate();
      expect((await fresh.all<{ name: string }>('PRAGMA table_info(organization_settings)')).map((c) => c.name).sort()).toEqual([...before].sort());
      await fresh.close();
      await db.close();
    } finally {
      dir.cleanup();
    }
  });
});
