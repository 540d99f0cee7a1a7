/**
 * The CRM mapping file (`sunset serve --crm-mapping FILE`): the parser's answers to good and bad
 * files; a service given a file uses the file's mapping for the organizations it covers (webhooks,
 * the organization view, the API refusing to change it) and the saved mapping for the others; and
 * `sunset serve` with a bad file refuses to start with the problems and their lines.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MappingFileError, parseMappingFile, type ErrorBody, type HookAccepted, type OrganizationView, type WebhookSaved } from '../../src/service/index.js';
import { cleanRefusal, createHarness } from '../helpers/cli.js';
import { startTestService, type SignedIn, type TestService } from '../helpers/service.js';

function problemsOf(text: string): string[] {
  try {
    parseMappingFile(text, 'map.yaml');
  } catch (error) {
    if (error instanceof MappingFileError) return error.problems;
    throw error;
  }
  throw new Error('the file was accepted');
}

describe('parseMappingFile', () => {
  it('reads a default mapping and per-organization ones, trimming values', () => {
    const file = parseMappingFile([
      'inactive: [Churned, " Lost "]',
      'active: [Active]',
      'organizations:',
      '  "10234695": { inactive: [Gone], active: [Back, Customer] }',
      '  "3185434000000000001":',
      '    inactive: [Closed Lost]',
      '    active: [Closed Won]',
    ].join('\n'), 'map.yaml');
    expect(file).toEqual({
      path: 'map.yaml',
      default: { inactive: ['Churned', 'Lost'], active: ['Active'] },
      organizations: {
        '10234695': { inactive: ['Gone'], active: ['Back', 'Customer'] },
        '3185434000000000001': { inactive: ['Closed Lost'], active: ['Closed Won'] },
      },
    });
  });

  it('a file with only organizations has no default', () => {
    const file = parseMappingFile('organizations:\n  "10234695": { inactive: [Gone], active: [Back] }\n', 'map.yaml');
    expect(file.default).toBeUndefined();
    expect(Object.keys(file.organizations)).toEqual(['10234695']);
  });

  it.each([
    ['a YAML syntax error', 'inactive: [Churned\nactive: [Active]\n', /^map\.yaml:\d+:\d+: /],
    ['not a map', '- Churned\n', /^map\.yaml:1:1: the file must be a map/],
    ['an unknown key', 'inactive: [Churned]\nactive: [Active]\nactve: [x]\n', /^map\.yaml:3:1: unknown key "actve"/],
    ['only one list', 'inactive: [Churned]\n', /needs both "inactive" and "active"/],
    ['a list that is a string', 'inactive: Churned\nactive: [Active]\n', /^map\.yaml:1:11: inactive must be a list/],
    ['an empty list', 'inactive: []\nactive: [Active]\n', /^map\.yaml:1:11: inactive is empty/],
    ['a value in both lists', 'inactive: [Churned, active]\nactive: [Active]\n', /Churned|active cannot mean both/],
    ['a non-text value', 'inactive: [{a: 1}]\nactive: [Active]\n', /not a CRM value/],
    ['an organization id that is not one', 'organizations:\n  acme: { inactive: [Gone], active: [Back] }\n', /^map\.yaml:2:3: "acme" is not an organization id/],
    ['an unquoted id that lost digits', 'organizations:\n  3185434000000000001: { inactive: [Gone], active: [Back] }\n', /quote the organization id/],
    ['an organization without lists', 'organizations:\n  "10234695": { inactive: [Gone] }\n', /organizations\.10234695 needs both/],
    ['an organization key that is not allowed', 'organizations:\n  "10234695": { inactive: [Gone], active: [Back], organizations: {} }\n', /unknown key "organizations" in organizations\.10234695/],
    ['nothing mapped', 'organizations: {}\n', /maps nothing/],
  ])('%s is refused with its place', (_what, text, pattern) => {
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(pattern);
  });
});

describe('a service with a mapping file', () => {
  let s: TestService;
  let session: SignedIn;
  let secret = '';
  let other = '';

  beforeAll(async () => {
    s = await startTestService({
      contacts: 40,
      mappingFile: ([first]) => ({ path: 'crm-mapping.yaml', organizations: { [first!]: { inactive: ['Gone'], active: ['Back'] } } }),
    });
    other = s.organizations[1]!;
    session = await s.login();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('the organization view shows the file\'s mapping and where it comes from; the other keeps its own', async () => {
    const r = await session.get<OrganizationView[]>('/api/orgs');
    const mine = r.json.find((o) => o.organizationId === s.organization)!;
    expect(mine.webhook).toMatchObject({ mapping: { inactive: ['Gone'], active: ['Back'] }, mappingFile: 'crm-mapping.yaml' });
    const theirs = r.json.find((o) => o.organizationId === other)!;
    expect(theirs.webhook.mappingFile).toBeNull();
    expect(theirs.webhook.mapping).toMatchObject({ inactive: expect.arrayContaining(['Churned']) });
  });

  it('the API refuses to change a mapping that comes from the file (409) and saves nothing; mode and secret still work', async () => {
    const refused = await session.request<ErrorBody>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac', mapping: { inactive: ['X'], active: ['Y'] } } });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toContain('crm-mapping.yaml');
    expect((await s.store.settings(s.organization)).webhookSecret).toBeNull();
    const ok = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'secret' } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.webhook).toMatchObject({ mapping: { inactive: ['Gone'], active: ['Back'] }, mappingFile: 'crm-mapping.yaml' });
    secret = ok.json.secret ?? '';
    expect(secret).not.toBe('');
    const elsewhere = await session.request('PUT', `/api/orgs/${other}/webhook`, { body: { mode: 'secret', mapping: { inactive: ['X'], active: ['Y'] } } });
    expect(elsewhere.status).toBe(200);
  });

  it('webhooks follow the file: its value applies, the saved default does not', async () => {
    const contacts = (await s.h.t.call<{ contacts: Array<{ contact_id: string; status: string }> }>('GET', '/contacts', { query: { filter_by: 'Status.Active' } })).body.contacts;
    const [a, b] = contacts;
    const send = (contactId: string, status: string) => s.fetch<HookAccepted>('POST', `/hooks/crm/${s.organization}`, {
      body: JSON.stringify({ books_contact_id: contactId, status }), headers: { 'content-type': 'application/json', 'x-sunset-secret': secret },
    });
    const gone = await send(a!.contact_id, 'Gone');
    expect(gone.status, gone.text).toBe(202);
    const churned = await send(b!.contact_id, 'Churned');
    expect(churned.status, churned.text).toBe(202);
    await s.service.processWebhooks();
    const events = await s.store.events(s.organization, 10);
    expect(events.find((e) => e.eventId === gone.json.eventId)).toMatchObject({ action: 'deactivate', state: 'applied' });
    expect(events.find((e) => e.eventId === churned.json.eventId)).toMatchObject({ action: null, state: 'ignored' });
    expect(await s.status(a!.contact_id)).toBe('inactive');
    expect(await s.status(b!.contact_id)).toBe('active');
  });
});

describe('sunset serve --crm-mapping', () => {
  const cli = createHarness();
  afterAll(async () => {
    await cli.cleanupAll();
  });

  it('a bad file: exit 2, every problem with its line, nothing started', async () => {
    const dir = cli.temp('sunset-mapping-');
    const file = join(dir, 'map.yaml');
    writeFileSync(file, 'inactive: Churned\nactve: [Active]\n');
    const exit = await cli.run(['serve', '--crm-mapping', file, '--db', join(dir, 'sunset.db'), '--port', '0']);
    expect(exit.code).toBe(2);
    expect(cleanRefusal(exit)).toEqual([]);
    expect(exit.stderr).toContain(`${file}:1:11: inactive must be a list`);
    expect(exit.stderr).toContain(`${file}:2:1: unknown key "actve"`);
    expect(exit.stdout).not.toContain('is serving');
  });

  it('a missing file: exit 2 naming it', async () => {
    const dir = cli.temp('sunset-mapping-');
    const exit = await cli.run(['serve', '--crm-mapping', join(dir, 'nope.yaml'), '--db', join(dir, 'sunset.db'), '--port', '0']);
    expect(exit.code).toBe(2);
    expect(cleanRefusal(exit)).toEqual([]);
    expect(exit.stderr).toContain('--crm-mapping: cannot read');
    expect(exit.stderr).toContain('ENOENT');
  });
});
