import type { Organization } from '../../zoho/index.js';
import type { Limiter } from '../limiter.js';
import type { Requester } from '../request.js';

export interface OrganizationsResource {
  /** The organizations the credentials reach. Feeds each organization's plan to the limiter. */
  list(): Promise<Organization[]>;
}

export function createOrganizationsResource(requester: Requester, limiter: Limiter): OrganizationsResource {
  return {
    async list() {
      const body = await requester.request<{ organizations?: Organization[] }>({ method: 'GET', path: '/organizations', organizationId: null });
      const organizations = body.organizations ?? [];
      for (const organization of organizations) {
        const paid = typeof organization.plan_type === 'number' ? organization.plan_type > 0 : !/free/i.test(String(organization.plan_name ?? ''));
        limiter.setPlan(String(organization.organization_id), paid ? 'paid' : 'free');
      }
      return organizations;
    },
  };
}
