/**
 * The Connections page in Chromium, on a service that works through the database's connections
 * (test/helpers/connections.ts) and two emulators standing for two data centres: a connection is
 * added from the form (an emulator's account, then a refresh token pasted with its self-client),
 * the organizations page names each organization's connection, Test says it works, a failing one
 * shows its error, Remove asks first and takes it away. No secret is ever in the page.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchBrowser, screenshot, watchErrors } from '../helpers/browser.js';
import { startManagedService, type ManagedService } from '../helpers/connections.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { PASSWORD, USER } from '../helpers/service.js';

const unavailable = browserUnavailable();

describe.skipIf(unavailable !== undefined)('the Connections page in Chromium', () => {
  let eu: TestEmulator;
  let india: TestEmulator;
  let m: ManagedService;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    eu = await startTestEmulator({ contacts: 20, dataCentre: 'EU' });
    india = await startTestEmulator({ contacts: 20, dataCentre: 'IN' });
    m = await startManagedService({ socket: true });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    errors = watchErrors(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await m?.close();
    await eu?.close();
    await india?.close();
  });

  const cards = (): Promise<string[]> => page.getByTestId('connection-card').evaluateAll((els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset['connection'] ?? ''));

  it('signs in, opens Connections from the navigation, and adds two connections from the form', async () => {
    await page.goto(`${m.origin}/login`);
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-connections').click();
    await page.getByTestId('connection-form').waitFor();
    expect(await page.getByTestId('nav-connections').getAttribute('aria-current')).toBe('page');

    // An emulator's own account: only its address.
    await page.getByTestId('cx-name').fill('acme-eu');
    await page.getByTestId('cx-where').selectOption('emulator');
    await page.getByTestId('cx-emulator').fill(eu.origin);
    await page.getByTestId('cx-add').click();
    await expect.poll(cards).toEqual(['acme-eu']);
    expect(await page.getByTestId('cx-status').textContent()).toMatch(/Added acme-eu: it reaches 2 organizations/);

    // A refresh token pasted with its self-client's id and secret.
    await page.getByTestId('cx-name').fill('initech-in');
    await page.getByTestId('cx-where').selectOption('emulator');
    await page.getByTestId('cx-emulator').fill(india.origin);
    await page.getByTestId('cx-client-id').fill(india.info.clientId);
    await page.getByTestId('cx-client-secret').fill(india.info.clientSecret);
    await page.getByTestId('cx-kind').selectOption('refreshToken');
    await page.getByTestId('cx-secret').fill(india.info.refreshToken);
    await page.getByTestId('cx-add').click();
    await expect.poll(cards).toEqual(['acme-eu', 'initech-in']);
    // The secrets are gone from the form once sent.
    expect(await page.getByTestId('cx-secret').inputValue()).toBe('');
    expect(await page.getByTestId('cx-client-secret').inputValue()).toBe('');
    const html = await page.content();
    for (const secret of [eu.info.clientSecret, eu.info.refreshToken, india.info.clientSecret, india.info.refreshToken]) expect(html).not.toContain(secret);
    await screenshot(page, 'connections');
  });

  it('a name already taken is refused in the form, and nothing is added', async () => {
    await page.getByTestId('cx-name').fill('acme-eu');
    await page.getByTestId('cx-where').selectOption('emulator');
    await page.getByTestId('cx-emulator').fill(india.origin);
    await page.getByTestId('cx-add').click();
    await expect.poll(() => page.getByTestId('cx-status').textContent()).toMatch(/already a connection named acme-eu/);
    expect(await cards()).toEqual(['acme-eu', 'initech-in']);
  });

  it('the organizations page names each organization\'s connection', async () => {
    await page.getByTestId('nav-orgs').click();
    await expect.poll(() => page.getByTestId('organization-connection').count()).toBe(4);
    const texts = await page.getByTestId('organization-connection').allTextContents();
    expect(texts.filter((t) => t.includes('acme-eu'))).toHaveLength(2);
    expect(texts.filter((t) => t.includes('initech-in'))).toHaveLength(2);
    expect(await page.getByTestId('connection-error').count()).toBe(0);
  });

  it('Test says a connection works; Remove asks first, then takes it and its organizations away', async () => {
    await page.getByTestId('nav-connections').click();
    const acme = page.locator('[data-testid="connection-card"][data-connection="acme-eu"]');
    await acme.getByTestId('connection-test').click();
    await expect.poll(() => acme.getByTestId('connection-status').textContent()).toMatch(/works/);
    const initech = page.locator('[data-testid="connection-card"][data-connection="initech-in"]');
    await initech.getByTestId('connection-remove').click();
    await page.getByTestId('confirm-cancel').click();
    expect(await cards()).toEqual(['acme-eu', 'initech-in']);
    await initech.getByTestId('connection-remove').click();
    await page.getByTestId('confirm-ok').click();
    await expect.poll(cards).toEqual(['acme-eu']);
    await page.getByTestId('nav-orgs').click();
    await expect.poll(() => page.getByTestId('organization-connection').count()).toBe(2);
  });

  it('a connection whose account withdrew its token shows as failing, with the error, and its organizations say so', async () => {
    const token = (await m.connections.open('acme-eu'))!.refreshToken;
    const revoked = await fetch(`${eu.info.accountsUrl}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(revoked.status).toBe(200);
    await page.getByTestId('nav-connections').click();
    const acme = page.locator('[data-testid="connection-card"][data-connection="acme-eu"]');
    await acme.getByTestId('connection-test').click();
    await expect.poll(() => acme.getByTestId('connection-status').textContent()).toMatch(/failing/);
    await page.getByTestId('nav-orgs').click();
    await expect.poll(() => page.getByTestId('connection-error').count()).toBe(2);
    expect(await page.content()).not.toContain(token);
  });

  it('no script error; the failed requests are the ones refused on purpose', () => {
    expect(errors.filter((e) => !/409|\/api\/connections/.test(e))).toEqual([]);
  });
});
