/**
 * Client throughput under a per-minute limit: the emulator (a separate process) allows R requests
 * a minute per organization; K status changes go through the client. Prints the achieved rate as
 * a fraction of R and the number of 429s received. Run: npx tsx bench/client-throughput.ts
 *
 * Flags: --rate R (default 6000) --changes K (default 3000) --workers W (default 20)
 *        --burst B (default: the product's, R/6: the first B requests may start at once, the
 *        rest are paced at R per 61 s)
 * The paced rate is measured over the second half of the calls, after the burst is spent.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { createMemoryTokenStore, createZohoBooksClient } from '../src/client/index.js';

const { values } = parseArgs({ options: { rate: { type: 'string' }, changes: { type: 'string' }, workers: { type: 'string' }, burst: { type: 'string' } } });
const R = Number(values.rate ?? 6000);
const K = Number(values.changes ?? 3000);
const W = Number(values.workers ?? 20);
const B = values.burst === undefined ? undefined : Number(values.burst);

interface Info {
  baseUrl: string;
  accountsUrl: string;
  organizations: Array<{ organization_id: string }>;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

const child = spawn(process.execPath, [
  '--import', 'tsx', 'src/cli/main.ts', 'emulator', 'start', '--port', '0', '--json',
  '--per-minute', String(R), '--daily', '10000000', '--contacts', String(Math.ceil(K * 1.3)),
], { stdio: ['ignore', 'pipe', 'inherit'] });

try {
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  const info = JSON.parse(line) as Info;
  const organization = info.organizations[0]!.organization_id;
  let responses429 = 0;
  let calls = 0;
  const client = createZohoBooksClient({
    baseUrl: info.baseUrl,
    accountsUrl: info.accountsUrl,
    credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
    tokenStore: createMemoryTokenStore(),
    limits: { perMinute: R, burst: B },
    hooks: {
      onResponse(r) {
        calls++;
        if (r.status === 429) responses429++;
      },
    },
  });
  await client.organizations.list();
  const books = client.organization(organization);
  const ids: string[] = [];
  for await (const c of books.contacts.list({ filterBy: 'Status.Active' })) {
    ids.push(c.contact_id);
    if (ids.length >= K) break;
  }
  if (ids.length < K) throw new Error(`only ${ids.length} active contacts; need ${K}`);
  const setupCalls = calls;

  const done: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: W }, async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const result = await books.contacts.markInactive(id);
      if (result.outcome !== 'changed') throw new Error(`contact ${id} was ${result.outcome}`);
      done.push(performance.now());
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  // The paced rate: the second half of the calls, after the burst is spent.
  const half = Math.floor(K / 2);
  const steadyRate = ((K - 1 - half) / ((done[K - 1]! - done[half]!) / 1000)) * 60;
  const overallRate = (K / elapsed) * 60;
  const limits = (await (await fetch(`${info.accountsUrl}/__emulator/limits`)).json()) as {
    organizations: Array<{ organization_id: string; peakPerMinute: number; refused: Record<string, number> }>;
  };
  const counters = limits.organizations.find((o) => o.organization_id === organization)!;

  console.log(`client throughput — node ${process.version}, ${cpus().length} cpus, R=${R}/min, K=${K}, ${W} workers, burst ${B ?? `${Math.ceil(R / 6)} (default)`}`);
  console.log(`  status changes            ${K} in ${elapsed.toFixed(1)} s (plus ${setupCalls} set-up calls)`);
  console.log(`  overall rate              ${overallRate.toFixed(0)}/min = ${(overallRate / R).toFixed(3)} R`);
  console.log(`  paced rate (2nd half)     ${steadyRate.toFixed(0)}/min = ${(steadyRate / R).toFixed(3)} R   target >= 0.95: ${steadyRate / R >= 0.95 ? 'met' : 'MISSED'}`);
  console.log(`  429s received             ${responses429}   target 0: ${responses429 === 0 ? 'met' : 'MISSED'}`);
  console.log(`  emulator peak per minute  ${counters.peakPerMinute} of ${R}; refused ${JSON.stringify(counters.refused)}`);
} finally {
  child.kill('SIGTERM');
}
