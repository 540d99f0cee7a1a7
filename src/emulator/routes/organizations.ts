/**
 * `GET /organizations`: the organizations the token may reach (needs `ZohoBooks.settings.READ`).
 * `PUT /organizations/{organization_id}`: changes its `name` or `time_zone` (needs
 * `ZohoBooks.settings.UPDATE`), as a person does in Books' settings.
 */
import { isOrganizationId, scopeName, ZohoCode } from '../../zoho/index.js';
import type { AccountContext, BooksRoute } from '../context.js';
import { invalidValue, ZohoHttpError } from '../http-error.js';
import { bodyString } from '../params.js';
import { renderOrganization } from '../render.js';

/**
 * The zone's offset from UTC at `now`, in minutes, when the name is one the runtime knows (an IANA
 * name; Zoho also sends abbreviations such as PST); otherwise undefined. The emulator keeps one
 * offset per organization (no daylight saving: docs/emulator-fidelity.md).
 */
function offsetAt(timeZone: string, now: number): number | undefined {
  try {
    const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(now).find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (name === 'GMT') return 0;
    const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
    return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : undefined;
  } catch {
    return undefined;
  }
}

function updateOrganization(ctx: AccountContext) {
  const id = ctx.params.organization_id ?? '';
  const index = isOrganizationId(id) ? ctx.organizations.findIndex((o) => o.organization_id === id) : -1;
  const row = ctx.organizations[index];
  // As for any other organization the token does not reach: 6024, listing those it does.
  if (!row) {
    throw new ZohoHttpError(ZohoCode.INVALID_ORGANIZATION, {
      extra: { error_info: ctx.organizations.map((o, i) => ({ organization_id: o.organization_id, name: o.name, is_default_org: i === 0 })) },
    });
  }
  const body = ctx.body();
  const name = bodyString(body, 'name', 200)?.trim();
  if (name === '') throw invalidValue('name');
  const timeZone = bodyString(body, 'time_zone', 100)?.trim();
  if (timeZone === '') throw invalidValue('time_zone');
  const updated = {
    ...row,
    name: name ?? row.name,
    time_zone: timeZone ?? row.time_zone,
    utc_offset_minutes: timeZone === undefined ? row.utc_offset_minutes : offsetAt(timeZone, ctx.now) ?? row.utc_offset_minutes,
  };
  ctx.store.tx(() => ctx.store.organizations.update(updated));
  return { body: { code: 0, message: 'Organization details have been saved.', organization: renderOrganization(updated, index === 0) } };
}

export const organizationRoutes: ReadonlyArray<[string, string, BooksRoute]> = [
  [
    'GET',
    '/organizations',
    {
      level: 'account',
      scopes: [scopeName('settings', 'READ')],
      handler: (ctx) => ({
        body: {
          code: 0,
          message: 'success',
          organizations: ctx.organizations.map((organization, i) => renderOrganization(organization, i === 0)),
        },
      }),
    },
  ],
  ['PUT', '/organizations/:organization_id', { level: 'account', scopes: [scopeName('settings', 'UPDATE')], handler: updateOrganization }],
];
