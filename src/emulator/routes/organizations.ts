/** `GET /organizations`: the organizations the token may reach (needs `ZohoBooks.settings.READ`). */
import { scopeName } from '../../zoho/index.js';
import type { BooksRoute } from '../context.js';
import { renderOrganization } from '../render.js';

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
];
