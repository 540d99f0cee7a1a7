/**
 * `sunset demo`: the whole story on the embedded emulator with demo data — scan, plan (with the
 * HTML report), apply (one planned customer trades meanwhile, and is skipped), verify, undo, verify —
 * printing a short summary at each step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createMemoryTokenStore, createZohoBooksClient, systemClock } from '../../client/index.js';
import { createEmulator, listen } from '../../emulator/index.js';
import {
  applyRun, planSnapshot, withExclusions, createRunFromPlan, createUndoRun, createZohoAdapter, databaseLabel, defaultPolicyText, emulatorTarget, parsePolicy,
  scan, verifyRun,
} from '../../engine/index.js';
import { createServiceStore } from '../../service/index.js';
import { planToHtml } from '../../engine/report/index.js';
import { ownerId } from '../actor.js';
import { intFlag, parseFlags } from '../args.js';
import { EXIT } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { writeOutput } from '../output-file.js';
import { createProgress, formatDuration } from '../terminal.js';
import { openStorage } from '../workspace.js';

const HELP = `Usage: sunset demo [options]

Runs the main job end to end on the embedded Zoho Books emulator, with demo data (two
organizations; customers and vendors with years of history, some dormant, some owing money, some
linked to CRM): scan, plan with an HTML report, apply, verify that no history was lost, undo, and
verify again. Nothing outside a temporary folder is touched, except the report.

Options:
  --contacts N          Contacts in the demo organization (default 1000)
  --report FILE         Where to write the HTML report (default sunset-demo-report.html)
  --keep                Keep the temporary journal and print where it is
  --database URL|FILE   Keep the journal (and the service's tables) there instead: SUNSET_DATABASE_URL
                        a postgres:// URL or a SQLite file; \`sunset serve\` on
                        the same database then shows the demo's runs
  --help                Show this help

The demo raises the emulator's limits (6,000 calls a minute) so it finishes in seconds; against
real Zoho, a plan runs at 100 calls a minute within the organization's daily quota.
`;

export const OPTIONS = { contacts: { type: 'string' }, report: { type: 'string' }, keep: { type: 'boolean' }, database: { type: 'string' }, help: { type: 'boolean' } } as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given } = parseFlags(() => parseArgs({ args: argv, strict: true, options: OPTIONS }), 'demo');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = { ...given, db: given.database ?? (io.env.SUNSET_DATABASE_URL || undefined) };
  const contacts = intFlag(values.contacts, 'contacts', 50, 200_000) ?? 1000;
  const reportPath = resolve(values.report ?? 'sunset-demo-report.html');
  const out = (line = ''): void => void io.stdout.write(`${line}\n`);
  const progress = createProgress(io, false);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'sunset-demo-'));
  const perMinute = 6000;
  const emulator = createEmulator({ seed: 'demo', contacts, limits: { perMinute, daily: 100_000 } });
  const server = await listen(emulator, { port: 0 });
  // The demo's own journal in a temporary folder, or the database named (kept, with the service's tables).
  const location = values.db ?? join(dir, 'sunset.db');
  const { journal, database } = await openStorage(location);
  try {
    if (values.db !== undefined) {
      await createServiceStore(database).migrate(journal);
      out(`0. Database  ${databaseLabel(location)} (${database.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'}): the journal and the service's tables`);
    }
    const info = emulator.info(server.origin);
    let calls = 0;
    const client = createZohoBooksClient({
      baseUrl: info.baseUrl, accountsUrl: info.accountsUrl, tokenStore: createMemoryTokenStore(),
      credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
      limits: { perMinute, burst: perMinute },
      hooks: { onResponse: () => void calls++ },
    });
    const organizations = await client.organizations.list();
    const organization = organizations[0]!;
    const port = createZohoAdapter(client, organization.organization_id, () => calls, emulatorTarget(server.origin));
    out(`1. Emulator  ${server.origin}: ${organizations.map((o) => `${o.name} (${o.organization_id}, ${o.plan_name})`).join(', ')}`);

    const policyText = defaultPolicyText(organization.organization_id);
    const policy = parsePolicy(policyText, 'demo-policy.yaml');
    let t = Date.now();
    const snapshot = await scan({
      port, journal, policy, now: emulator.clock.now(),
      onProgress: (p) => progress.update(`   scanning: ${p.contacts} contacts, ${p.transactions} transactions, ${p.apiCalls} calls`),
    });
    progress.done();
    out(`2. Scan      ${snapshot.contactCount} active contacts and their whole history (${snapshot.transactionCount} transactions), in ${snapshot.apiCalls} API calls (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    out(`             one call per contact and transaction type would have taken ${snapshot.contactCount * snapshot.historyTypes.length}`);

    const plan = await planSnapshot(journal, policy, policyText, snapshot, Date.now());
    writeOutput(reportPath, planToHtml(await withExclusions(journal, plan), { generatedAt: Date.now(), title: `Sunset demo plan — ${organization.name}`, organizationName: organization.name, currencyCode: organization.currency_code }));
    const ex = Object.entries(plan.summary.excluded).map(([reason, n]) => `${n} ${reason.replace(/_/g, ' ')}`).join(', ');
    out(`3. Plan      ${plan.planId}: ${plan.summary.dormant} dormant for ${policy.inactivity.text}; deactivate ${plan.steps.length}; excluded ${plan.exclusionCount}${ex ? ` (${ex})` : ''}; ${plan.summary.recentlyActive} recently active`);
    out(`             report: ${reportPath}`);

    // Meanwhile, one planned customer places an order: apply must notice and skip it.
    const trader = plan.steps.find((s) => s.contactType === 'customer');
    if (trader) {
      await client.organization(organization.organization_id).invoices.create({ customer_id: trader.contactId, line_items: [{ name: 'Comeback order', rate: 250, quantity: 1 }] });
      out(`             meanwhile ${trader.contactName} places an order (a new invoice), after the snapshot`);
    }

    const run = await createRunFromPlan(journal, plan, 'sunset demo', Date.now());
    t = Date.now();
    const applied = await applyRun({
      journal, port, runId: run.runId, owner: ownerId(), clock: systemClock,
      concurrency: 10,
      onProgress: (p) => progress.update(`   applying: ${p.counts.changed + p.counts.unchanged + p.counts.skipped + p.counts.failed}/${p.counts.total} steps`),
    });
    progress.done();
    const skipped = (await journal.steps(run.runId)).filter((s) => s.state === 'skipped');
    out(`4. Apply     run ${run.runId}: ${applied.counts.changed} contacts marked inactive, ${applied.counts.skipped} skipped, ${applied.counts.failed} failed, ${applied.apiCalls} API calls (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    for (const s of skipped.slice(0, 3)) out(`             skipped ${s.contactName}: ${s.skipReason}`);
    out(`             at 100 calls a minute (Zoho's limit) this run would take about ${formatDuration((applied.apiCalls / 100) * 60_000)}`);

    const verified = await verifyRun(journal, port, run.runId, { now: emulator.clock.now() });
    const traded = verified.differences.filter((d) => d.explained !== null).length;
    out(`5. Verify    ${verified.ok ? 'no history lost' : `${verified.differences.length - traded} DIFFERENCES`}: ${verified.transactions} transactions totalling ${(verified.totalCents / 100).toFixed(2)} ${organization.currency_code} across ${verified.contacts} contacts, as at the scan${traded > 0 ? ` but for ${traded} made by trading since (the skipped customer's order)` : ''}; ${verified.apiCalls} API calls`);

    const { run: undo } = await createUndoRun(journal, run.runId, 'sunset demo', Date.now());
    const undone = await applyRun({ journal, port, runId: undo.runId, owner: ownerId(), clock: systemClock, concurrency: 10 });
    const verifiedUndo = await verifyRun(journal, port, undo.runId, { now: emulator.clock.now() });
    out(`6. Undo      run ${undo.runId}: ${undone.counts.changed} contacts active again; verify: ${verifiedUndo.ok ? 'no history lost' : 'DIFFERENCES'}`);

    const consistent = (await (await fetch(`${server.origin}/__emulator/check`)).json()) as { ok: boolean };
    out('');
    out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s, ${calls} API calls in all; emulator ledger consistent: ${consistent.ok ? 'yes' : 'NO'}.`);
    if (values.db !== undefined) out(`Journal kept in ${databaseLabel(location)}: try \`sunset runs --database ${databaseLabel(location)}\` and \`sunset audit\` with it.`);
    else if (values.keep) out(`Journal kept in ${dir}: try \`sunset runs --db ${join(dir, 'sunset.db')}\` and \`sunset audit --db ${join(dir, 'sunset.db')}\`.`);
    out('Next: `sunset policy init`, `sunset scan`, `sunset plan --html report.html`, `sunset apply` (see --help of each).');
    if (!consistent.ok) return EXIT.failure;
    return verified.ok && verifiedUndo.ok ? EXIT.ok : EXIT.differences;
  } finally {
    await journal.close();
    await server.close();
    emulator.close();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}
