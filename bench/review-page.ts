/**
 * How fast the plan review page is ready in a browser for a plan of 10,000+ steps.
 *
 * The emulator (`sunset emulator start --contacts N`) and the service (`sunset serve --emulator
 * URL`, from dist/: run `npm run build` first) run as child processes on loopback; this process
 * signs in over HTTP, saves a policy with `inactivity: 1 days` (so that nearly every contact
 * without an open balance is dormant) and `max_changes: 100000`, scans and plans, then drives
 * Debian's Chromium (playwright-core) to the review page LOADS times, each a fresh page load.
 *
 * "Ready" = the page's own clock (performance.now(), from the start of navigation) when the summary
 * shows the plan's whole count and the first contact rows are drawn: the HTML, app.js (the UI's
 * bundle) and app.css, the session, the plan, every review row (one JSON document) and the first
 * draw of the table. The rows document's and the script's sizes are given as sent (the service
 * compresses them) and uncompressed.
 * Then, on the loaded page: a search (a contact id typed into the box until the count shows 1),
 * a filter (effect = excluded) and a sort (the "Last activity" column), each timed from the
 * action to the updated count or header.
 *
 *   npm run build && npx tsx bench/review-page.ts
 *   npx tsx bench/review-page.ts --contacts 30000 --loads 9 --json
 *   npx tsx bench/review-page.ts --database postgres   # the journal on PostgreSQL (a schema of its own)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { children, signInApi } from './service-children.js';
import { storageChoice } from './storage-choice.js';

/** Browser globals, only in functions that run in the page (the project compiles without the DOM library). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
interface PageEntry { name: string; startTime: number; responseEnd: number; encodedBodySize: number; decodedBodySize: number; domContentLoadedEventEnd: number }
type PagePerformance = { getEntriesByType(type: string): PageEntry[] };

const { values } = parseArgs({ options: { contacts: { type: 'string' }, loads: { type: 'string' }, database: { type: 'string' }, json: { type: 'boolean' } } });
const CONTACTS = Number(values.contacts ?? 16_000);
const LOADS = Number(values.loads ?? 7);
if (!Number.isInteger(CONTACTS) || CONTACTS < 100 || !Number.isInteger(LOADS) || LOADS < 1) throw new Error('--contacts >= 100 and --loads >= 1, whole numbers');
const CHROMIUM = process.env['SUNSET_CHROMIUM'] ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
const dir = mkdtempSync(join(tmpdir(), 'sunset-review-page-'));
const procs = children(dir);
const storage = storageChoice(values.database, dir, 'review_page');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const info = JSON.parse(await procs.start(['emulator', 'start', '--port', '0', '--json', '--contacts', String(CONTACTS), '--per-minute', '60000', '--daily', '100000000'], /^\{/)) as { baseUrl: string; organizations: Array<{ organization_id: string }> };
  const organization = info.organizations[0]!.organization_id;
  const origin = await procs.serve(new URL(info.baseUrl).origin, storage.location, ['--per-minute', '60000']);

  // ---- a big plan, through the API ----
  const api = await signInApi(origin);
  const cookie = api.cookie;
  type OrganizationView = { organizationId: string; policy: { draft?: string }; latestPlan: { planId: string; steps: number; excluded: number } | null; activeJob: unknown };
  const view = async (): Promise<OrganizationView> => (await api<OrganizationView[]>('GET', '/api/orgs')).find((o) => o.organizationId === organization)!;
  const policy = (await view()).policy.draft!.replace('inactivity: 24 months', 'inactivity: 1 days').replace('max_changes: 1000', 'max_changes: 100000');
  await api('PUT', `/api/orgs/${organization}/policy`, { text: policy });
  const scanStart = Date.now();
  await api('POST', `/api/orgs/${organization}/scan`);
  let plan: OrganizationView['latestPlan'] = null;
  while (!plan) {
    await new Promise((r) => setTimeout(r, 200));
    const v = await view();
    if (v.latestPlan && !v.activeJob) plan = v.latestPlan;
  }
  const scanSeconds = (Date.now() - scanStart) / 1000;
  const total = plan.steps + plan.excluded;

  // ---- the page, in Chromium ----
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addCookies([{ name: 'sunset_session', value: cookie, url: origin, httpOnly: true, sameSite: 'Strict' }]);
  const loads: Array<{ readyMs: number; rowsFetchMs: number; rowsBytes: number; rowsDecodedBytes: number; scriptBytes: number; scriptDecodedBytes: number; domContentLoadedMs: number }> = [];
  let last;
  for (let i = 0; i < LOADS; i++) {
    const page = await context.newPage();
    await page.goto(`${origin}/#/plans/${plan.planId}`, { waitUntil: 'commit' });
    const readyMs = Number(await (await page.waitForFunction((n) => {
      const totalShown = document.querySelector('[data-testid=count-total]')?.textContent?.replace(/\D/g, '');
      return totalShown === String(n) && document.querySelector('[data-testid=plan-row]') ? performance.now() : null;
    }, total, { polling: 'raf', timeout: 60_000 })).jsonValue());
    const timing = await page.evaluate(() => {
      const resources = (performance as unknown as PagePerformance).getEntriesByType('resource');
      const rows = resources.find((e) => e.name.includes('/rows'));
      const script = resources.find((e) => e.name.endsWith('/assets/app.js'));
      const nav = (performance as unknown as PagePerformance).getEntriesByType('navigation')[0];
      return {
        rowsFetchMs: rows ? rows.responseEnd - rows.startTime : NaN, rowsBytes: rows ? rows.encodedBodySize : NaN, rowsDecodedBytes: rows ? rows.decodedBodySize : NaN,
        scriptBytes: script ? script.encodedBodySize : NaN, scriptDecodedBytes: script ? script.decodedBodySize : NaN, domContentLoadedMs: nav?.domContentLoadedEventEnd ?? NaN,
      };
    });
    loads.push({ readyMs, ...timing });
    if (last) await last.close();
    last = page;
  }
  const page = last!;

  // ---- interactions on the loaded page ----
  const shown = (): Promise<string> => page.getByTestId('count-shown').first().textContent().then((t) => t ?? '');
  /** Milliseconds (the page's clock) from just before `act` to the first frame where the shown count is `want` and `sorted` holds. */
  const timed = async (act: () => Promise<void>, want: string, sorted = false): Promise<number> => {
    const t0 = await page.evaluate(() => performance.now());
    await act();
    const at = await page.waitForFunction(([w, needSort]) => {
      const n = document.querySelector('[data-testid=count-shown]')?.textContent?.replace(/\D/g, '');
      return n === w && (!needSort || document.querySelector('th[aria-sort]')) ? performance.now() : null;
    }, [want, sorted] as const, { polling: 'raf' });
    return Number(await at.jsonValue()) - t0;
  };
  const someId = await page.getByTestId('plan-row').nth(3).evaluate((r) => r.textContent?.match(/\d{15,19}/)?.[0] ?? '');
  const searchMs = await timed(() => page.getByTestId('plan-search').fill(someId), '1');
  await page.getByTestId('filter-clear').click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=count-shown]')?.textContent?.replace(/\D/g, '') === String(n), total);
  const filterMs = await timed(async () => { await page.getByTestId('filter-effect').selectOption('excluded'); }, String(plan.excluded));
  await page.getByTestId('filter-clear').click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=count-shown]')?.textContent?.replace(/\D/g, '') === String(n), total);
  const sortMs = await timed(async () => { await page.getByRole('button', { name: /Last activity/ }).click(); }, String(total), true);
  if ((await shown()).replace(/\D/g, '') !== String(total)) throw new Error(`after the sort the page shows ${await shown()} of ${total}`);

  const ready = loads.map((l) => l.readyMs);
  const figures = {
    contacts: CONTACTS, steps: plan.steps, excluded: plan.excluded, rows: total, scanAndPlanSeconds: scanSeconds, loads: LOADS,
    readyMs: { median: median(ready), min: Math.min(...ready), max: Math.max(...ready), all: ready.map((x) => Math.round(x)) },
    rowsFetchMsMedian: median(loads.map((l) => l.rowsFetchMs)), rowsBytes: loads[0]!.rowsBytes, rowsDecodedBytes: loads[0]!.rowsDecodedBytes,
    scriptBytes: loads[0]!.scriptBytes, scriptDecodedBytes: loads[0]!.scriptDecodedBytes, domContentLoadedMsMedian: median(loads.map((l) => l.domContentLoadedMs)),
    searchMs, filterMs, sortMs, cpus: cpus().length, chromium: browser.version(),
  };
  console.log(`review page: plan of ${plan.steps.toLocaleString('en')} steps + ${plan.excluded.toLocaleString('en')} excluded (${CONTACTS.toLocaleString('en')} contacts; scan + plan ${scanSeconds.toFixed(1)} s), Chromium ${figures.chromium}, ${LOADS} fresh loads`);
  console.log(`  ready (navigation start → whole count shown and rows drawn): median ${figures.readyMs.median.toFixed(0)} ms, min ${figures.readyMs.min.toFixed(0)}, max ${figures.readyMs.max.toFixed(0)} ms  [${figures.readyMs.all.join(', ')}]`);
  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(2)} MB`;
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`  of which the rows document: ${mb(figures.rowsBytes)} sent (${mb(figures.rowsDecodedBytes)} uncompressed), fetched in ${figures.rowsFetchMsMedian.toFixed(0)} ms (median); DOMContentLoaded at ${figures.domContentLoadedMsMedian.toFixed(0)} ms`);
  console.log(`  the script (app.js): ${kb(figures.scriptBytes)} sent (${kb(figures.scriptDecodedBytes)} uncompressed)`);
  console.log(`  on the loaded page: search by id ${searchMs.toFixed(0)} ms, filter (excluded) ${filterMs.toFixed(0)} ms, sort (last activity) ${sortMs.toFixed(0)} ms`);
  console.log(figures.readyMs.median < 1000 ? '  target (< 1 s): met' : '  target (< 1 s): MISSED');
  if (values.json) console.log(JSON.stringify(figures));
} finally {
  await browser.close();
  await procs.stopAll();
  await storage.drop().catch((error: unknown) => console.error(`could not drop the bench's schema: ${String(error)}`));
  rmSync(dir, { recursive: true, force: true });
}
