/**
 * A status change whose answer is lost after the change was made (the emulator's `drop-answer`
 * fault): the client retries, hears "already inactive" (3032), and must report the change as its
 * own (`changed`), because its first attempt made it. Evidence that the emulator's fault and the
 * client's reading of it agree.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ResponseInfo } from '../../src/client/index.js';
import type { ContactListItem } from '../../src/zoho/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createTestClient } from '../helpers/client.js';

interface LogEntry {
  method: string;
  path: string;
  status: number;
  code: number | null;
  fault: string | null;
  answer_dropped: boolean;
}

let t: TestEmulator | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('a status change whose answer is lost', () => {
  it('markInactive through drop-answer,count=1 retries, hears 3032 and reports "changed"', async () => {
    const e = (t = await startTestEmulator({ contacts: 20 }));
    const listed = await e.call<{ contacts: ContactListItem[] }>('GET', '/contacts', { query: { filter_by: 'Status.Active', per_page: 1 } });
    const id = (listed.body.contacts[0] as ContactListItem).contact_id;
    const fault = await e.admin('POST', '/__emulator/faults', { faults: ['drop-answer,count=1,method=POST,path=/contacts/*/inactive'] });
    expect(fault.status).toBe(200);
    const responses: ResponseInfo[] = [];
    const tc = createTestClient(e, { retry: { maxAttempts: 3, baseDelayMs: 1 }, hooks: { onResponse: (r) => responses.push(r) } });

    const result = await tc.client.organization(e.organization).contacts.markInactive(id);

    expect(result).toEqual({ contactId: id, status: 'inactive', outcome: 'changed' });
    expect(responses.map((r) => [r.attempt, r.outcome, r.code])).toEqual([[1, 'network', undefined], [2, 'response', 3032]]);
    const log = await e.admin<{ requests: LogEntry[] }>('GET', `/__emulator/requests?method=POST&path_prefix=${encodeURIComponent(`/books/v3/contacts/${id}`)}`);
    expect(log.body.requests.map((r) => [r.status, r.code, r.fault, r.answer_dropped])).toEqual([
      [200, 0, 'fault-1', true],
      [400, 3032, null, false],
    ]);
    expect((await e.call<{ contact: { status: string } }>('GET', `/contacts/${id}`)).body.contact.status).toBe('inactive');
  });
});
