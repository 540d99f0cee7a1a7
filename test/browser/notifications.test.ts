/**
 * The notifications page in Chromium: a user adds a webhook subscription (its secret shown once),
 * a bad address is refused in the form, a test notice reaches a real receiver on loopback and the
 * outbox lists it delivered; removing the subscription empties the list.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchBrowser, screenshot, watchErrors } from '../helpers/browser.js';
import { PASSWORD, startTestService, USER, type TestService } from '../helpers/service.js';

const unavailable = browserUnavailable();

describe.skipIf(unavailable !== undefined)('the notifications page in Chromium', () => {
  let s: TestService;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let receiver: Server;
  let hookUrl = '';
  const received: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sunset`;
    s = await startTestService({ contacts: 20, socket: true });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' })).newPage();
    page.setDefaultTimeout(20_000);
    errors = watchErrors(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('adds a webhook (secret shown once), refuses a bad address, sends a test, lists it delivered, and removes the subscription', async () => {
    await page.goto(`${s.origin}/login`);
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(/\/#?\/?$/);
    await page.getByTestId('nav-notifications').click();
    await page.getByTestId('subscriptions-empty').waitFor();

    await page.getByTestId('subscription-address').fill('not-an-address');
    await page.getByTestId('subscription-add').click();
    await expect.poll(() => page.getByTestId('subscription-status').textContent()).toMatch(/is not an e-mail address/);

    await page.getByTestId('subscription-channel').selectOption('webhook');
    await page.getByTestId('subscription-address').fill(hookUrl);
    await page.getByTestId('subscription-add').click();
    const secret = (await page.getByTestId('subscription-secret').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await page.getByTestId('subscription-row').waitFor();
    expect(await page.getByTestId('subscriptions-table').textContent()).not.toContain(secret);

    await page.getByTestId('subscription-test').click();
    await expect.poll(() => page.getByTestId('subscription-status').textContent()).toBe('Test sent.');
    await page.locator('[data-testid="outbox-row"][data-state="delivered"]').waitFor();
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!)).toMatchObject({ type: 'test' });
    await screenshot(page, 'notifications');

    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('subscription-remove').click();
    await page.getByTestId('subscriptions-empty').waitFor();
    expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
  });
});
