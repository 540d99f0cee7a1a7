/**
 * Who may do what (docs/agency.md, "People: roles and access"). Three roles, each able to do what
 * the one below it can:
 * - viewer: reads everything it may see (organizations, plans, runs, the audit trail, CRM events);
 * - approver: also scans, approves plans (excluding contacts), applies, resumes, stops, verifies and undoes runs;
 * - admin: also changes settings (policy, schedule, CRM webhook), groups organizations under
 *   clients, and manages users and connections.
 * An approver or a viewer may be limited to some clients: every other organization, and its plans,
 * runs, events and audit rows, does not exist for them (404, never 403, so its existence does not
 * leak). An admin is never limited.
 */

export const ROLES = ['viewer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A user's role and the clients they are limited to (null: every client). */
export interface Access {
  role: Role;
  clients: string[] | null;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` may do what needs `needed`. */
export function hasRole(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Whether a user sees every organization: an admin, or a user limited to no client. */
export function seesEveryClient(viewer: Access): boolean {
  return viewer.clients === null || viewer.role === 'admin';
}

/** Whether a user sees an organization grouped under `client` (undefined: under none). */
export function seesClient(viewer: Access, client: string | undefined): boolean {
  return seesEveryClient(viewer) || (client !== undefined && viewer.clients!.includes(client));
}

/** What each role may do, in words (the 403 message and `--help`). */
export const ROLE_DUTIES: Readonly<Record<Role, string>> = {
  viewer: 'read',
  approver: 'scan, approve, apply, stop, resume, verify and undo',
  admin: 'change settings, group organizations under clients, and manage users and connections',
};

/** A client's name as a person types it: trimmed, 1 to 80 characters, no control characters. */
export function clientNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'a client needs a name';
  if (name.trim().length > 80) return 'a client name has at most 80 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a client name cannot hold control characters';
  return undefined;
}

/**
 * The access a user is given, checked: a role, and clients only for an approver or a viewer
 * (an admin sees everything). Throws an Error with a message for a person.
 */
export function checkAccess(role: unknown, clients: unknown): Access {
  if (!isRole(role)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
  if (clients === null || clients === undefined) return { role, clients: null };
  if (!Array.isArray(clients) || clients.some((c) => typeof c !== 'string')) throw new Error('clients must be a list of client names');
  const names = [...new Set((clients as string[]).map((c) => c.trim()))];
  for (const name of names) {
    const problem = clientNameProblem(name);
    if (problem) throw new Error(`${problem} ("${name}")`);
  }
  if (names.length === 0) return { role, clients: null };
  if (role === 'admin') throw new Error('an admin sees every client: limit an approver or a viewer instead');
  return { role, clients: names.sort() };
}
