import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';

describe('emulator smoke', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(async () => {
    await t.close();
  });

  it('marks a contact inactive and a later GET says inactive', async () => {
    const list = await t.call<{ contacts: Array<{ contact_id: string; status: string }> }>('GET', '/contacts', {
      query: { filter_by: 'Status.Active', per_page: 1 },
    });
    expect(list.status).toBe(200);
    const id = list.body.contacts[0]!.contact_id;
    expect(typeof id).toBe('string');
    const res = await t.call('POST', `/contacts/${id}/inactive`);
    expect(res.body).toEqual({ code: 0, message: 'The contact has been marked as inactive.' });
    const after = await t.call<{ contact: { status: string } }>('GET', `/contacts/${id}`);
    expect(after.body.contact.status).toBe('inactive');
    const again = await t.call('POST', `/contacts/${id}/inactive`);
    expect(again.status).toBe(400);
    expect(again.body.code).toBe(3032);
  });
});
