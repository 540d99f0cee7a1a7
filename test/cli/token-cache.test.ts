/**
 * The CLI's token cache (SUNSET_HOME/tokens.json) across two running emulators started with the
 * same seed, so with the same client id and refresh token. Each must get its own cache entry:
 * sharing one would show each emulator the other's access token, make every command refresh, and
 * block after a few commands on the 10-refreshes-per-10-minutes limit. Built CLI as subprocesses,
 * emulators as `sunset emulator start` subprocesses, everything over real HTTP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Exit } from '../helpers/cli.js';

const h = createHarness();
afterEach(async () => h.cleanup());
afterAll(async () => h.cleanupAll());

function show(exit: Exit): string {
  return `code ${exit.code}, signal ${exit.signal}\nstdout: ${exit.stdout.slice(-3000)}\nstderr: ${exit.stderr.slice(-3000)}`;
}

describe('two emulators with the same seed, one token cache', () => {
  it('alternating commands between them all succeed, and each emulator is asked for a token once', async () => {
    const a = await h.startEmulator(['--contacts', '20', '--random-seed', '7']);
    const b = await h.startEmulator(['--contacts', '20', '--random-seed', '7']);
    // Precondition: the same credentials, two servers.
    expect([b.info.clientId, b.info.refreshToken]).toEqual([a.info.clientId, a.info.refreshToken]);
    expect(b.origin).not.toBe(a.origin);
    const dir = h.temp();
    const home = join(dir, 'home');

    for (let i = 1; i <= 12; i++) {
      const emu = i % 2 === 1 ? a : b;
      // A command that has not ended in 20 s is waiting out the refresh limit (up to 10 minutes).
      const exit = await h.run(['orgs', '--emulator', emu.origin, '--db', join(dir, 'sunset.db')], { cwd: dir, env: { SUNSET_HOME: home }, timeoutMs: 20_000 });
      expect(exit.signal, `command ${i} did not end by itself: ${show(exit)}`).toBeNull();
      expect(exit.code, `command ${i}: ${show(exit)}`).toBe(0);
      expect(exit.stdout).toContain(emu.organization);
    }

    for (const emu of [a, b]) {
      const tokenCalls = await emu.requests(0, { pathPrefix: '/oauth/' });
      expect(tokenCalls.map((r) => [r.method, r.path, r.status])).toEqual([['POST', '/oauth/v2/token', 200]]);
      // No command was shown a token of the other emulator.
      expect((await emu.requests(0, { pathPrefix: '/books/' })).filter((r) => r.code === 57)).toEqual([]);
    }
    // One entry per server, and the file holds no refresh token.
    const text = readFileSync(join(home, 'tokens.json'), 'utf8');
    expect(Object.keys(JSON.parse(text) as Record<string, unknown>)).toHaveLength(2);
    expect(text).not.toContain(a.info.refreshToken);
    expect(text).not.toContain(a.info.clientSecret);
  }, 120_000);
});
