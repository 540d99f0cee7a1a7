import type { Db } from './db.js';
import type { OrganizationRow } from './rows.js';

export interface OrganizationStore {
  insert(row: OrganizationRow): void;
  get(organizationId: string): OrganizationRow | undefined;
  list(): OrganizationRow[];
  /** One account's organizations, in order. */
  forAccount(accountId: string): OrganizationRow[];
  /** Changes an organization's name, time zone and offset (`PUT /organizations/{id}`). */
  update(row: OrganizationRow): void;
  /** Forgets cached rows (after the tables were wiped). */
  invalidate(): void;
}

export function createOrganizationStore(db: Db): OrganizationStore {
  const insertStmt = db.prepare(`INSERT INTO organizations (organization_id, account_id, name, plan, currency_code, time_zone,
      utc_offset_minutes, is_default, position, created_ms)
    VALUES (@organization_id, @account_id, @name, @plan, @currency_code, @time_zone, @utc_offset_minutes, @is_default, @position, @created_ms)`);
  const listStmt = db.prepare('SELECT * FROM organizations ORDER BY position');
  const updateStmt = db.prepare(`UPDATE organizations SET name = @name, time_zone = @time_zone, utc_offset_minutes = @utc_offset_minutes
    WHERE organization_id = @organization_id`);
  let cache: Map<string, OrganizationRow> | undefined;
  const load = (): Map<string, OrganizationRow> => {
    cache ??= new Map((listStmt.all() as OrganizationRow[]).map((o) => [o.organization_id, o]));
    return cache;
  };
  return {
    insert(row) {
      insertStmt.run(row);
      cache = undefined;
    },
    get: (id) => load().get(id),
    list: () => [...load().values()],
    forAccount: (accountId) => [...load().values()].filter((o) => o.account_id === accountId),
    update(row) {
      updateStmt.run({ organization_id: row.organization_id, name: row.name, time_zone: row.time_zone, utc_offset_minutes: row.utc_offset_minutes });
      cache = undefined;
    },
    invalidate() {
      cache = undefined;
    },
  };
}

