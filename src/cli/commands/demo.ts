/**
 * `sunset demo`: starts the emulator in-process with demo data on a free loopback port and walks
 * through the contact lifecycle with real HTTP calls, printing what each call answered.
 */
import { createEmulator, listen } from '../../emulator/index.js';
import { parseArgs } from 'node:util';
import { intFlag, parseFlags } from '../args.js';
import type { CliIO } from '../main.js';

const HELP = `Usage: sunset demo [options]

Starts the Zoho Books emulator in this process with demo data, then makes real API calls against
it: sign in with a self-client code, list organizations and contacts, mark a contact inactive,
read its history, and show the rules that protect history (no deleting a contact with
transactions, no new invoice for an inactive contact).

Options:
  --contacts N   Contacts in the first demo organization (default 1000)
  --help         Show this help
`;

interface ZohoBody {
  code?: number;
  message?: string;
  [key: string]: unknown;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(() => parseArgs({ args: argv, strict: true, options: { contacts: { type: 'string' }, help: { type: 'boolean' } } }), 'demo');
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const contacts = intFlag(values.contacts, 'contacts', 1, 1_000_000) ?? 1000;
  const out = (line = ''): void => void io.stdout.write(`${line}\n`);
  const started = Date.now();
  const emulator = createEmulator({ seed: 'demo', contacts });
  const server = await listen(emulator, { port: 0 });
  try {
    const info = emulator.info(server.origin);
    out(`Emulator with demo data on ${server.origin} (ready in ${Date.now() - started} ms)`);

    // 1. A self-client grant code, exchanged for tokens, as in Zoho's API console.
    const grant = (await (await fetch(`${server.origin}/__emulator/grants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['ZohoBooks.contacts.ALL', 'ZohoBooks.settings.READ', 'ZohoBooks.invoices.ALL'] }),
    })).json()) as { code: string };
    const tokenResponse = (await (await fetch(`${info.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: info.clientId, client_secret: info.clientSecret, code: grant.code }),
    })).json()) as { access_token: string; expires_in: number; scope: string };
    out(`Signed in with a self-client code: access token valid ${tokenResponse.expires_in} s, scopes ${tokenResponse.scope}`);
    const headers = { authorization: `Zoho-oauthtoken ${tokenResponse.access_token}` };
    const call = async (method: string, path: string): Promise<{ status: number; body: ZohoBody }> => {
      const response = await fetch(`${info.baseUrl}${path}`, { method, headers });
      return { status: response.status, body: (await response.json()) as ZohoBody };
    };

    const orgs = await call('GET', '/organizations');
    const organizations = orgs.body.organizations as Array<{ organization_id: string; name: string; plan_name: string }>;
    out(`GET /organizations → ${organizations.map((o) => `${o.name} (${o.organization_id}, ${o.plan_name})`).join('; ')}`);
    const org = organizations[0]!.organization_id;

    let active = 0;
    let pages = 0;
    for (let page = 1; ; page++) {
      const list = await call('GET', `/contacts?organization_id=${org}&filter_by=Status.Active&per_page=200&page=${page}`);
      pages++;
      active += (list.body.contacts as unknown[]).length;
      if (!(list.body.page_context as { has_more_page: boolean }).has_more_page) break;
    }
    out(`GET /contacts?filter_by=Status.Active → ${active} active contacts in ${pages} pages of 200`);

    // A customer with history: the first customer on the first page of invoices from long ago.
    const old = await call('GET', `/invoices?organization_id=${org}&date_end=2020-12-31&per_page=1&sort_column=date&sort_order=A`);
    const invoice = (old.body.invoices as Array<{ customer_id: string; customer_name: string; date: string }>)[0];
    if (!invoice) {
      out('No invoices before 2021 in this demo data; nothing more to show.');
      return 0;
    }
    const id = invoice.customer_id;
    const contact = (await call('GET', `/contacts/${id}?organization_id=${org}`)).body.contact as Record<string, unknown>;
    out(`GET /contacts/${id} → ${String(contact.contact_name)}: status ${String(contact.status)}, has_transaction ${String(contact.has_transaction)}, outstanding ${String(contact.outstanding_receivable_amount)}`);

    const show = async (label: string, method: string, path: string): Promise<void> => {
      const r = await call(method, path);
      out(`${label} → HTTP ${r.status}, code ${r.body.code}: ${r.body.message}`);
    };
    await show(`DELETE /contacts/${id}`, 'DELETE', `/contacts/${id}?organization_id=${org}`);
    if (contact.status === 'active') await show(`POST /contacts/${id}/inactive`, 'POST', `/contacts/${id}/inactive?organization_id=${org}`);
    await show(`POST /contacts/${id}/inactive again`, 'POST', `/contacts/${id}/inactive?organization_id=${org}`);
    const invoiceAttempt = await fetch(`${info.baseUrl}/invoices?organization_id=${org}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ customer_id: id, line_items: [{ name: 'Consulting', rate: 100, quantity: 1 }] }),
    });
    const attemptBody = (await invoiceAttempt.json()) as ZohoBody;
    out(`POST /invoices for the inactive contact → HTTP ${invoiceAttempt.status}, code ${attemptBody.code}: ${attemptBody.message}`);
    const history = await call('GET', `/contacts/${id}/comments?organization_id=${org}`);
    out(`GET /contacts/${id}/comments → ${(history.body.contact_comments as Array<{ description: string }>).map((c) => c.description).join(' | ')}`);
    await show(`POST /contacts/${id}/active`, 'POST', `/contacts/${id}/active?organization_id=${org}`);
    await show(`GET /contacts/1`, 'GET', `/contacts/1?organization_id=${org}`);
    out('');
    out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Run \`sunset emulator start\` to keep an emulator running.`);
    return 0;
  } finally {
    await server.close();
    emulator.close();
  }
}
