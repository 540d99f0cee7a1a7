/**
 * Misconfiguration fails at construction (or before the first request leaves) with a
 * ConfigurationError that says what to fix; data centres map to the right servers; the token's
 * api_domain is followed when allowed.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError, createMemoryTokenStore, createZohoBooksClient, type ZohoClientOptions } from '../../src/client/index.js';
import { resolveOptions } from '../../src/client/options.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createZohoFetch, ok, sequenceRandom, settle, tokenReply } from '../helpers/scripted-fetch.js';

const CREDENTIALS = { clientId: '1000.CLIENT', clientSecret: 'secret-xyz', refreshToken: '1000.refresh.token' };
const CONTACT_ID = '460000000026049';

/** Options that resolve without touching the file system or the network. */
function base(overrides: Partial<ZohoClientOptions> = {}): ZohoClientOptions {
  return { credentials: CREDENTIALS, tokenStore: createMemoryTokenStore(), fetch: createZohoFetch().fetch, clock: createFakeClock(), random: sequenceRandom(0.5), ...overrides };
}

function configError(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).kind).toBe('configuration');
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError, nothing was thrown');
}

describe('data centres', () => {
  const TABLE: Array<[string, string, string]> = [
    ['US', 'https://accounts.zoho.com', 'https://www.zohoapis.com/books/v3'],
    ['EU', 'https://accounts.zoho.eu', 'https://www.zohoapis.eu/books/v3'],
    ['IN', 'https://accounts.zoho.in', 'https://www.zohoapis.in/books/v3'],
    ['AU', 'https://accounts.zoho.com.au', 'https://www.zohoapis.com.au/books/v3'],
    ['JP', 'https://accounts.zoho.jp', 'https://www.zohoapis.jp/books/v3'],
    ['CA', 'https://accounts.zohocloud.ca', 'https://www.zohoapis.ca/books/v3'],
    ['SA', 'https://accounts.zoho.sa', 'https://www.zohoapis.sa/books/v3'],
    ['CN', 'https://accounts.zoho.com.cn', 'https://www.zohoapis.com.cn/books/v3'],
  ];
  for (const [dc, accounts, api] of TABLE) {
    it(`${dc} → ${accounts} and ${api}`, () => {
      const resolved = resolveOptions(base({ dataCentre: dc }));
      expect(resolved.dataCentre).toBe(dc);
      expect(resolved.accountsUrl).toBe(accounts);
      expect(resolved.baseUrl).toBe(api);
      expect(resolved.followApiDomain).toBe(true);
    });
  }

  it('defaults to US', () => {
    const resolved = resolveOptions(base());
    expect(resolved.dataCentre).toBeUndefined();
    expect(resolved.accountsUrl).toBe('https://accounts.zoho.com');
    expect(resolved.baseUrl).toBe('https://www.zohoapis.com/books/v3');
  });

  it('accepts lower case', () => {
    expect(resolveOptions(base({ dataCentre: 'ca' })).accountsUrl).toBe('https://accounts.zohocloud.ca');
  });

  it('an unknown data centre fails at construction and lists the valid ones', () => {
    const error = configError(() => createZohoBooksClient(base({ dataCentre: 'UK' })));
    expect(error.message).toContain('"UK"');
    expect(error.message).toContain('US, EU, IN, AU, JP, CA, SA, CN');
  });

  it('the token request goes to the data centre\'s accounts server', async () => {
    const zf = createZohoFetch();
    const clock = createFakeClock();
    const client = createZohoBooksClient(base({ dataCentre: 'CA', fetch: zf.fetch, clock }));
    await settle(clock, client.organization('10234695').contacts.get(CONTACT_ID));
    expect(zf.token[0]?.url).toBe('https://accounts.zohocloud.ca/oauth/v2/token');
  });
});

describe('baseUrl and accountsUrl', () => {
  it('baseUrl without a data centre derives the accounts server from its origin and does not follow api_domain', () => {
    const resolved = resolveOptions(base({ baseUrl: 'http://127.0.0.1:8742/books/v3/' }));
    expect(resolved.baseUrl).toBe('http://127.0.0.1:8742/books/v3');
    expect(resolved.accountsUrl).toBe('http://127.0.0.1:8742');
    expect(resolved.followApiDomain).toBe(false);
  });
  it('baseUrl with a data centre keeps the data centre\'s accounts server', () => {
    expect(resolveOptions(base({ baseUrl: 'https://proxy.example.com/books/v3', dataCentre: 'EU' })).accountsUrl).toBe('https://accounts.zoho.eu');
  });
  it('an explicit accountsUrl wins', () => {
    expect(resolveOptions(base({ dataCentre: 'EU', accountsUrl: 'https://login.example.com/' })).accountsUrl).toBe('https://login.example.com');
  });
  it('a baseUrl that is not a URL fails and shows a correct example', () => {
    const error = configError(() => createZohoBooksClient(base({ baseUrl: 'www.zohoapis.com/books/v3' })));
    expect(error.message).toBe('baseUrl "www.zohoapis.com/books/v3" is not a URL. Give a full URL such as https://www.zohoapis.com/books/v3.');
  });
  it('a non-http(s) baseUrl fails', () => {
    expect(configError(() => resolveOptions(base({ baseUrl: 'ftp://example.com/books/v3' }))).message).toBe('baseUrl must be an http(s) URL (got ftp:).');
  });
  it('a bad accountsUrl fails', () => {
    expect(configError(() => resolveOptions(base({ accountsUrl: 'accounts.zoho.eu' }))).message).toContain('accountsUrl "accounts.zoho.eu" is not a URL');
  });
});

describe('credentials', () => {
  it('a missing clientSecret fails at construction and says where to find it', () => {
    const error = configError(() => createZohoBooksClient(base({ credentials: { clientId: '1000.CLIENT', refreshToken: '1000.r' } as never })));
    expect(error.message).toBe(
      "credentials.clientSecret is missing (the secret of the self-client or server-based client in Zoho's API console). A refresh token needs clientId, clientSecret and refreshToken.",
    );
  });
  it('a blank clientSecret fails the same way', () => {
    expect(configError(() => resolveOptions(base({ credentials: { ...CREDENTIALS, clientSecret: '  ' } }))).message).toContain('credentials.clientSecret is missing');
  });
  it('a missing clientId fails', () => {
    expect(configError(() => resolveOptions(base({ credentials: { clientSecret: 's', refreshToken: 'r' } as never }))).message).toBe(
      'credentials.clientId is missing. A refresh token needs clientId, clientSecret and refreshToken.',
    );
  });
  it('a missing refreshToken fails', () => {
    expect(configError(() => resolveOptions(base({ credentials: { clientId: 'c', clientSecret: 's' } as never }))).message).toBe(
      'credentials.refreshToken is missing. A refresh token needs clientId, clientSecret and refreshToken.',
    );
  });
  it('an empty accessToken fails', () => {
    expect(configError(() => createZohoBooksClient(base({ credentials: { accessToken: '' } }))).message).toBe('credentials.accessToken is empty.');
  });
  it('no credentials at all fails', () => {
    expect(configError(() => resolveOptions({ tokenStore: createMemoryTokenStore() } as never)).message).toBe(
      'credentials are required: { clientId, clientSecret, refreshToken } or { accessToken }.',
    );
  });
  it('an access token alone is accepted as a static credential', () => {
    expect(resolveOptions(base({ credentials: { accessToken: '1000.abc' } })).credentials).toEqual({ accessToken: '1000.abc' });
  });
});

describe('organization ids', () => {
  it('a non-numeric default organizationId fails at construction', () => {
    const error = configError(() => createZohoBooksClient(base({ organizationId: 'acme-ltd' })));
    expect(error.message).toBe('organizationId must be Zoho\'s numeric organization id as a string, e.g. "10234695" (got "acme-ltd").');
  });
  it('a number (not a string) fails too', () => {
    expect(configError(() => resolveOptions(base({ organizationId: 10234695 as never }))).message).toContain('(got 10234695)');
  });
  it('a bad per-call organization id fails before any request (token or API) leaves', async () => {
    const zf = createZohoFetch();
    const client = createZohoBooksClient(base({ fetch: zf.fetch }));
    const error = await client.organization('abc').contacts.get(CONTACT_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toBe('The organization id must be Zoho\'s numeric id as a string, e.g. "10234695" (got "abc").');
    expect(zf.requests).toHaveLength(0);
  });
  it('org() without an id and without a default says how to find one', () => {
    const client = createZohoBooksClient(base());
    expect(configError(() => client.organization()).message).toContain('client.organizations.list()');
  });
  it('the default organization is used when none is given', async () => {
    const zf = createZohoFetch({ api: () => ok({ contact: { contact_id: CONTACT_ID } }) });
    const clock = createFakeClock();
    const client = createZohoBooksClient(base({ fetch: zf.fetch, clock, organizationId: '10234695' }));
    await settle(clock, client.organization().contacts.get(CONTACT_ID));
    expect(zf.api[0]?.query.organization_id).toBe('10234695');
  });
});

describe('numeric options', () => {
  const cases: Array<[Partial<ZohoClientOptions>, string]> = [
    [{ limits: { perMinute: 0 } }, 'limits.perMinute must be a number >= 1 (got 0).'],
    [{ limits: { inFlight: -1 } }, 'limits.inFlight must be a number >= 1 (got -1).'],
    [{ limits: { dailyHeadroom: -0.1 } }, 'limits.dailyHeadroom must be a number >= 0 (got -0.1).'],
    [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts must be a number >= 1 (got 0).'],
    [{ timeoutMs: Number.NaN }, 'timeoutMs must be a number >= 1 (got NaN).'],
  ];
  for (const [options, message] of cases) {
    it(message, () => {
      expect(configError(() => resolveOptions(base(options))).message).toBe(message);
    });
  }
  it('a per-organization in-flight cap of 0 fails at construction (it would hold that organization\'s requests forever)', () => {
    const error = configError(() => createZohoBooksClient(base({ limits: { inFlight: { '10234695': 0 } } })));
    expect(error.message).toContain('limits.inFlight');
  });
});

describe('followApiDomain', () => {
  it("by default the token response's api_domain becomes the base URL of later calls", async () => {
    const zf = createZohoFetch({ token: () => tokenReply('access-1', { api_domain: 'https://www.zohoapis.eu' }), api: () => ok({ contact: {} }) });
    const clock = createFakeClock();
    const client = createZohoBooksClient(base({ fetch: zf.fetch, clock }));
    expect(client.baseUrl()).toBe('https://www.zohoapis.com/books/v3');
    await settle(clock, client.organization('10234695').contacts.get(CONTACT_ID));
    await settle(clock, client.organization('10234695').contacts.get(CONTACT_ID));
    expect(zf.api.map((r) => r.url)).toEqual([
      `https://www.zohoapis.eu/books/v3/contacts/${CONTACT_ID}?organization_id=10234695`,
      `https://www.zohoapis.eu/books/v3/contacts/${CONTACT_ID}?organization_id=10234695`,
    ]);
    expect(client.baseUrl()).toBe('https://www.zohoapis.eu/books/v3');
  });

  it('an explicit baseUrl is kept whatever the api_domain says', async () => {
    const zf = createZohoFetch({ token: () => tokenReply('access-1', { api_domain: 'https://www.zohoapis.eu' }), api: () => ok({ contact: {} }) });
    const clock = createFakeClock();
    const client = createZohoBooksClient(base({ fetch: zf.fetch, clock, baseUrl: 'http://127.0.0.1:8742/books/v3' }));
    await settle(clock, client.organization('10234695').contacts.get(CONTACT_ID));
    expect(zf.token[0]?.url).toBe('http://127.0.0.1:8742/oauth/v2/token');
    expect(zf.api[0]?.url).toBe(`http://127.0.0.1:8742/books/v3/contacts/${CONTACT_ID}?organization_id=10234695`);
  });

  it('followApiDomain: false keeps the data centre\'s base URL', async () => {
    const zf = createZohoFetch({ token: () => tokenReply('access-1', { api_domain: 'https://www.zohoapis.in' }), api: () => ok({ contact: {} }) });
    const clock = createFakeClock();
    const client = createZohoBooksClient(base({ fetch: zf.fetch, clock, dataCentre: 'EU', followApiDomain: false }));
    await settle(clock, client.organization('10234695').contacts.get(CONTACT_ID));
    expect(zf.api[0]?.url).toBe(`https://www.zohoapis.eu/books/v3/contacts/${CONTACT_ID}?organization_id=10234695`);
  });
});
