/**
 * Organizations over real HTTP (reference §1, §5, §7, §9): `GET /organizations`, the
 * `organization_id` rules (6024), and isolation between the organizations of one account.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';

interface Organization {
  organization_id: string;
  name: string;
  is_default_org: boolean;
  [key: string]: unknown;
}

interface Contact {
  contact_id: string;
  contact_name: string;
  status: string;
  phone: string;
  last_modified_time: string;
}

interface ContactList {
  code: number;
  contacts: Contact[];
  page_context: { has_more_page: boolean };
}

interface ErrorBody {
  code: number;
  message: string;
  error_info?: Array<{ organization_id: string; name: string; is_default_org: boolean }>;
}

const MULTI_ORG_MESSAGE = 'This user belongs to multiple organizations, hence the parameter organization_id is required.';
const INVALID_ORG = { code: 6024, message: 'Invalid organization.' };

describe('organizations', () => {
  let t: TestEmulator;
  let orgA: string;
  let orgB: string;

  beforeEach(async () => {
    t = await startTestEmulator({ contacts: 60 });
    expect(t.organizations.length).toBe(2);
    [orgA, orgB] = t.organizations as [string, string];
  });
  afterEach(async () => {
    await t.close();
  });

  /** Every contact id of an organization, read with the ready-made (all-organizations) token. */
  async function contactIds(organization: string | null, token?: string): Promise<string[]> {
    const out: string[] = [];
    for (let page = 1; ; page++) {
      const res = await t.call<ContactList>('GET', '/contacts', { organization, token, query: { page, per_page: 200 } });
      expect(res.status).toBe(200);
      out.push(...res.body.contacts.map((c) => c.contact_id));
      if (!res.body.page_context.has_more_page) return out;
    }
  }

  async function contact(organization: string, id: string): Promise<Contact> {
    const res = await t.call<{ contact: Contact }>('GET', `/contacts/${id}`, { organization });
    expect(res.status).toBe(200);
    return res.body.contact;
  }

  describe('GET /organizations', () => {
    it('lists every organization of the account, as strings, with one default', async () => {
      const res = await t.call<{ code: number; message: string; organizations: Organization[] }>('GET', '/organizations', { organization: null });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(0);
      expect(res.body.message).toBe('success');
      const organizations = res.body.organizations;
      expect(organizations.map((o) => o.organization_id)).toEqual([orgA, orgB]);
      expect(organizations.map((o) => o.name)).toEqual(t.info.organizations.map((o) => o.name));
      for (const o of organizations) {
        expect(typeof o.organization_id).toBe('string');
        expect(o.organization_id).toMatch(/^[0-9]+$/);
      }
      expect(organizations.map((o) => o.is_default_org)).toEqual([true, false]);
    });

    it('needs ZohoBooks.settings.READ', async () => {
      const contactsOnly = await t.tokenFor(['ZohoBooks.contacts.ALL']);
      const refused = await t.call('GET', '/organizations', { organization: null, token: contactsOnly });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ code: 57, message: 'You are not authorized to perform this operation' });

      const settings = await t.tokenFor(['ZohoBooks.settings.READ']);
      const ok = await t.call<{ organizations: Organization[] }>('GET', '/organizations', { organization: null, token: settings });
      expect(ok.status).toBe(200);
      expect(ok.body.organizations.map((o) => o.organization_id)).toEqual([orgA, orgB]);
      // settings.READ alone does not reach contacts.
      const contacts = await t.call('GET', '/contacts', { token: settings });
      expect(contacts.status).toBe(401);
      expect(contacts.body).toEqual({ code: 57, message: 'You are not authorized to perform this operation' });
    });

    it('lists only the organizations the grant allows', async () => {
      const onlyB = await t.tokenFor(['ZohoBooks.settings.READ'], [orgB]);
      const res = await t.call<{ organizations: Organization[] }>('GET', '/organizations', { organization: null, token: onlyB });
      expect(res.status).toBe(200);
      expect(res.body.organizations.map((o) => o.organization_id)).toEqual([orgB]);
      const onlyA = await t.tokenFor(['ZohoBooks.settings.READ'], [orgA]);
      const resA = await t.call<{ organizations: Organization[] }>('GET', '/organizations', { organization: null, token: onlyA });
      expect(resA.body.organizations.map((o) => o.organization_id)).toEqual([orgA]);
    });
  });

  describe('PUT /organizations/{organization_id}', () => {
    const listed = async (): Promise<Organization[]> => (await t.call<{ organizations: Organization[] }>('GET', '/organizations', { organization: null })).body.organizations;

    it('the demo organizations are in distinct time zones, as Zoho names them', async () => {
      expect((await listed()).map((o) => o.time_zone)).toEqual(['Asia/Calcutta', 'America/Bogota']);
    });

    it('changes the time zone (and name) as Books\' settings do; the list and new timestamps follow', async () => {
      const res = await t.call<{ code: number; organization: Organization }>('PUT', `/organizations/${orgB}`, { organization: null, body: { time_zone: 'Australia/Sydney', name: 'Harbor Supply Pty' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ code: 0, organization: { organization_id: orgB, name: 'Harbor Supply Pty', time_zone: 'Australia/Sydney', is_default_org: false } });
      expect((await listed()).map((o) => [o.organization_id, o.name, o.time_zone])).toEqual([
        [orgA, t.info.organizations[0]?.name, 'Asia/Calcutta'],
        [orgB, 'Harbor Supply Pty', 'Australia/Sydney'],
      ]);
      // Timestamps are written at the zone's offset (Sydney: +10:00, or +11:00 in its summer).
      const created = await t.call<{ contact: Contact & { created_time: string } }>('POST', '/contacts', { organization: orgB, body: { contact_name: 'Zone Check Traders' } });
      expect(created.status).toBe(201);
      expect(created.body.contact.created_time).toMatch(/\+1[01]00$/);
      // Only the fields sent change.
      await t.call('PUT', `/organizations/${orgB}`, { organization: null, body: { time_zone: 'PST' } });
      expect((await listed()).find((o) => o.organization_id === orgB)).toMatchObject({ name: 'Harbor Supply Pty', time_zone: 'PST' });
    });

    it('refuses bad values, organizations out of reach and tokens without settings.UPDATE, changing nothing', async () => {
      const before = await listed();
      for (const body of [{ time_zone: '' }, { time_zone: 5 }, { time_zone: 'x'.repeat(101) }, { name: '  ' }]) {
        const res = await t.call<ErrorBody>('PUT', `/organizations/${orgA}`, { organization: null, body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.code, JSON.stringify(body)).toBe(2);
      }
      const onlyA = await t.tokenFor(['ZohoBooks.settings.ALL'], [orgA]);
      for (const [id, token] of [[orgB, onlyA], ['999999999', undefined], ['abc', undefined]] as const) {
        const res = await t.call<ErrorBody>('PUT', `/organizations/${id}`, { organization: null, token, body: { time_zone: 'UTC' } });
        expect(res.status, id).toBe(400);
        expect(res.body, id).toMatchObject(INVALID_ORG);
      }
      const readOnly = await t.tokenFor(['ZohoBooks.settings.READ']);
      const refused = await t.call('PUT', `/organizations/${orgA}`, { organization: null, token: readOnly, body: { time_zone: 'UTC' } });
      expect(refused.status).toBe(401);
      expect(await listed()).toEqual(before);
    });
  });

  describe('organization_id', () => {
    it('missing, with a token that reaches several organizations: 400 code 6024 with error_info listing them', async () => {
      const id = (await contactIds(orgA))[0] as string;
      for (const [method, path] of [['GET', '/contacts'], ['GET', `/contacts/${id}`], ['POST', `/contacts/${id}/inactive`]] as const) {
        for (const organization of [null, '']) {
          const res = await t.call<ErrorBody>(method, path, { organization });
          expect(res.status, `${method} ${path}`).toBe(400);
          expect(res.body, `${method} ${path}`).toEqual({
            code: 6024,
            message: MULTI_ORG_MESSAGE,
            error_info: [
              { organization_id: orgA, name: t.info.organizations[0]?.name, is_default_org: true },
              { organization_id: orgB, name: t.info.organizations[1]?.name, is_default_org: false },
            ],
          });
        }
      }
      expect((await contact(orgA, id)).status).toBe('active');
    });

    it('missing, with a token limited to one organization: the call works on that organization', async () => {
      const onlyB = await t.tokenFor(['ZohoBooks.contacts.ALL'], [orgB]);
      const bIds = await contactIds(orgB);
      expect(await contactIds(null, onlyB)).toEqual(bIds);

      const created = await t.call<{ contact: Contact }>('POST', '/contacts', { organization: null, token: onlyB, body: { contact_name: 'Single Org Default Traders' } });
      expect(created.status).toBe(201);
      const newId = created.body.contact.contact_id;
      expect((await contact(orgB, newId)).contact_name).toBe('Single Org Default Traders');
      const inA = await t.call('GET', `/contacts/${newId}`, { organization: orgA });
      expect(inA.status).toBe(404);
      expect(inA.body).toEqual({ code: 1002, message: 'Contact does not exist.' });
    });

    it('a foreign, nonexistent or non-numeric organization_id answers 400 code 6024', async () => {
      const onlyA = await t.tokenFor(['ZohoBooks.contacts.ALL'], [orgA]);
      const cases: Array<[string, string | undefined]> = [
        [orgB, onlyA], // another organization of the account, outside the grant
        ['999999999', undefined], // no such organization
        ['1', undefined],
        ['abc', undefined],
        [`${orgA}x`, undefined],
        ['-1', undefined],
      ];
      for (const [organization, token] of cases) {
        const res = await t.call<ErrorBody>('GET', '/contacts', { organization, token });
        expect(res.status, organization).toBe(400);
        expect(res.body.code, organization).toBe(6024);
        expect(res.body.message, organization).toBe('Invalid organization.');
      }
    });

    it('6024 for an organization outside the token\'s reach carries error_info listing the reachable ones (reference §5)', async () => {
      const onlyA = await t.tokenFor(['ZohoBooks.contacts.ALL'], [orgA]);
      const res = await t.call<ErrorBody>('GET', '/contacts', { organization: orgB, token: onlyA });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        ...INVALID_ORG,
        error_info: [{ organization_id: orgA, name: t.info.organizations[0]?.name, is_default_org: true }],
      });
      const unknown = await t.call<ErrorBody>('GET', '/contacts', { organization: '999999999' });
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual({
        ...INVALID_ORG,
        error_info: [
          { organization_id: orgA, name: t.info.organizations[0]?.name, is_default_org: true },
          { organization_id: orgB, name: t.info.organizations[1]?.name, is_default_org: false },
        ],
      });
    });
  });

  describe('isolation between organizations', () => {
    it('a token limited to organization A can neither read nor change organization B\'s contacts', async () => {
      const onlyA = await t.tokenFor(['ZohoBooks.fullaccess.all'], [orgA]);
      const aIds = await contactIds(orgA);
      const bIds = await contactIds(orgB);
      expect(bIds.length).toBeGreaterThan(1);
      expect(aIds.filter((id) => bIds.includes(id))).toEqual([]);
      const victim = await contact(orgB, bIds[0] as string);
      const victimActive = victim.status === 'active';
      const historyOf = async (): Promise<unknown[]> => {
        const res = await t.call<{ contact_comments: unknown[] }>('GET', `/contacts/${victim.contact_id}/comments`, { organization: orgB });
        expect(res.status).toBe(200);
        return res.body.contact_comments;
      };
      const estimatesOf = async (): Promise<unknown[]> => {
        const res = await t.call<{ estimates: unknown[] }>('GET', '/estimates', { organization: orgB, query: { customer_id: victim.contact_id } });
        expect(res.status).toBe(200);
        return res.body.estimates;
      };
      const historyBefore = await historyOf();
      const estimatesBefore = await estimatesOf();

      // Org B named explicitly: refused before anything is looked up.
      const viaB: Array<[string, string, unknown]> = [
        ['GET', '/contacts', undefined],
        ['GET', `/contacts/${victim.contact_id}`, undefined],
        ['PUT', `/contacts/${victim.contact_id}`, { phone: 'hijacked' }],
        ['DELETE', `/contacts/${victim.contact_id}`, undefined],
        ['POST', `/contacts/${victim.contact_id}/${victimActive ? 'inactive' : 'active'}`, undefined],
        ['GET', `/contacts/${victim.contact_id}/comments`, undefined],
        ['POST', '/contacts', { contact_name: 'Planted In B' }],
      ];
      for (const [method, path, body] of viaB) {
        const res = await t.call(method, path, { organization: orgB, token: onlyA, body });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(res.body, `${method} ${path}`).toEqual(expect.objectContaining(INVALID_ORG));
      }

      // Org A named, B's ids in the path: B's contacts do not exist there.
      for (const [method, path, body] of [
        ['GET', `/contacts/${victim.contact_id}`, undefined],
        ['PUT', `/contacts/${victim.contact_id}`, { phone: 'hijacked' }],
        ['DELETE', `/contacts/${victim.contact_id}`, undefined],
        ['GET', `/contacts/${victim.contact_id}/comments`, undefined],
      ] as const) {
        const res = await t.call(method, path, { organization: orgA, token: onlyA, body });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body, `${method} ${path}`).toEqual({ code: 1002, message: 'Contact does not exist.' });
      }
      for (const target of ['active', 'inactive']) {
        const res = await t.call('POST', `/contacts/${victim.contact_id}/${target}`, { organization: orgA, token: onlyA });
        expect(res.status, target).toBe(400);
        expect(res.body, target).toEqual({ code: 2, message: 'Invalid value passed for contact_id' });
      }
      // Nor can A's token put B's contact on a document in A.
      const doc = await t.call<{ code: number }>('POST', '/estimates', { organization: orgA, token: onlyA, body: { customer_id: victim.contact_id, total: 1 } });
      expect(doc.status).toBe(400);
      expect(doc.body.code).toBe(2);
      // Lists in A never show B's contacts.
      const seenInA = await contactIds(orgA, onlyA);
      expect(seenInA).toEqual(aIds);

      // B is untouched, read back with a token that reaches B.
      const after = await contact(orgB, victim.contact_id);
      expect(after).toEqual(victim);
      expect(await contactIds(orgB)).toEqual(bIds);
      expect(historyBefore.length).toBeGreaterThan(0);
      expect(await historyOf()).toEqual(historyBefore);
      expect(await estimatesOf()).toEqual(estimatesBefore);
    });

    it('with an all-organizations token, a contact is only found in its own organization', async () => {
      const aId = (await contactIds(orgA))[0] as string;
      const bId = (await contactIds(orgB))[0] as string;
      expect((await contact(orgA, aId)).contact_id).toBe(aId);
      expect((await contact(orgB, bId)).contact_id).toBe(bId);
      for (const [organization, id] of [[orgB, aId], [orgA, bId]] as const) {
        const res = await t.call('GET', `/contacts/${id}`, { organization });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ code: 1002, message: 'Contact does not exist.' });
        const action = await t.call('POST', `/contacts/${id}/inactive`, { organization });
        expect(action.status).toBe(400);
        expect(action.body).toEqual({ code: 2, message: 'Invalid value passed for contact_id' });
      }
      expect((await contact(orgA, aId)).contact_id).toBe(aId);
    });
  });
});
