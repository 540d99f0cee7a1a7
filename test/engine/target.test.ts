/**
 * Where a contact opens in the Zoho Books web app (`contactUrl` in the service's API, the UI's
 * "Open in Zoho Books"): the data centre of a `zoho:` target gives the address; an emulator, another
 * API, the embedded emulator and an unrecorded target have no web app, so no link.
 */
import { describe, expect, it } from 'vitest';
import { apiTarget, contactAppUrl, EMBEDDED_TARGET, emulatorTarget, zohoTarget } from '../../src/engine/index.js';

describe('contactAppUrl', () => {
  it('a zoho: target opens the contact in its data centre\'s Books web app', () => {
    // Written out, not read from DATA_CENTRES: a wrong address there fails here.
    const apps: Array<[string, string]> = [
      ['US', 'https://books.zoho.com'], ['EU', 'https://books.zoho.eu'], ['IN', 'https://books.zoho.in'], ['AU', 'https://books.zoho.com.au'],
      ['JP', 'https://books.zoho.jp'], ['CA', 'https://books.zohocloud.ca'], ['SA', 'https://books.zoho.sa'], ['CN', 'https://books.zoho.com.cn'],
    ];
    for (const [dc, app] of apps) {
      expect(contactAppUrl(`zoho:${dc}`, '20000000', '3185434000000001581'), dc).toBe(`${app}/app/20000000#/contacts/3185434000000001581`);
      // The service's link base: the same with no contact, for the UI to append ids to.
      expect(contactAppUrl(`zoho:${dc}`, '20000000', ''), dc).toBe(`${app}/app/20000000#/contacts/`);
    }
    expect(contactAppUrl(zohoTarget('EU'), '20000000', '1')).toBe('https://books.zoho.eu/app/20000000#/contacts/1');
  });

  it('no web app, no link: emulators, other APIs, the embedded emulator, unknown data centres and unrecorded targets', () => {
    for (const target of [emulatorTarget('http://localhost:8742'), apiTarget('https://books.example.com'), EMBEDDED_TARGET, '', 'zoho:XX', 'zoho:', 'zoho:eu']) {
      expect(contactAppUrl(target, '20000000', '1'), target).toBeNull();
    }
  });
});
