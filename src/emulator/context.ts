import type { OrganizationRow } from './store/rows.js';
import type { AccessToken } from './store/oauth.js';
import type { Store } from './store/store.js';
import type { EmulatorRequest } from './types.js';

/** What a Books handler sees once the pipeline has routed, authenticated and limited the request. */
export interface AccountContext {
  req: EmulatorRequest;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Emulated epoch milliseconds, read once per request. */
  now: number;
  token: AccessToken;
  /** The organizations this token may reach, in account order. */
  organizations: OrganizationRow[];
  store: Store;
  /** Parses the body as a JSON object (JSON, or a form with a `JSONString` field); `{}` when empty. */
  body(): Record<string, unknown>;
}

export interface OrgContext extends AccountContext {
  org: OrganizationRow;
  /** The organization's calendar date today, `yyyy-mm-dd`. */
  today: string;
  /** Who history entries name as the actor. */
  actor: string;
}

export interface HandlerResult {
  status?: number;
  body: Record<string, unknown>;
}

export type BooksRoute =
  | { level: 'account'; scopes: readonly string[]; handler: (ctx: AccountContext) => HandlerResult }
  | { level: 'org'; scopes: readonly string[]; handler: (ctx: OrgContext) => HandlerResult };

/** A list's `page_context`. */
export function pageContext(
  page: number,
  perPage: number,
  hasMore: boolean,
  appliedFilter: string,
  sortColumn: string,
  sortOrder: 'A' | 'D',
): Record<string, unknown> {
  return { page, per_page: perPage, has_more_page: hasMore, applied_filter: appliedFilter, sort_column: sortColumn, sort_order: sortOrder };
}
