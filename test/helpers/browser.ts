/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser). Without
 * /usr/bin/chromium the browser tests are skipped with a message, unless CI=1, where they fail:
 * `.ci/run` installs Chromium, so a missing one there is a broken set-up, not a reason to skip.
 */
import { existsSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['SUNSET_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. Throws under CI=1. */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`;
  if (process.env['CI']) throw new Error(`${why} (CI=1 requires them)`);
  console.warn(`skipping the browser tests: ${why}`);
  return why;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * Where screenshots go: SUNSET_SCREENSHOTS (`npm run screenshots` sets it to docs/screenshots), or
 * nowhere. Tests take them at the same points either way, so the docs show what the tests saw.
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  const dir = process.env['SUNSET_SCREENSHOTS'];
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: options.fullPage ?? false });
}

/** Collects uncaught page errors and console errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * The few browser globals used by functions that run in the page (page.evaluate, waitForFunction):
 * the project compiles without the DOM library, so a file declares `document` with this type.
 */
export interface PageDocument {
  querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null;
}
