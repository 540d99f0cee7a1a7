/** OAuth scopes of the Books API (reference §7): `ZohoBooks.<module>.<OP>` plus `ZohoBooks.fullaccess.all`. */

export type ScopeOperation = 'CREATE' | 'READ' | 'UPDATE' | 'DELETE';

export const FULL_ACCESS_SCOPE = 'ZohoBooks.fullaccess.all';

export function scopeName(module: string, op: ScopeOperation | 'ALL'): string {
  return `ZohoBooks.${module}.${op}`;
}

/** True when `granted` includes one of `required`, directly, via `<module>.ALL`, or via full access. */
export function scopeSatisfied(granted: readonly string[], required: readonly string[]): boolean {
  const have = new Set(granted.map((s) => s.toLowerCase()));
  if (have.has(FULL_ACCESS_SCOPE.toLowerCase())) return true;
  for (const need of required) {
    if (have.has(need.toLowerCase())) return true;
    const module = need.split('.')[1];
    if (module !== undefined && have.has(scopeName(module, 'ALL').toLowerCase())) return true;
  }
  return false;
}

/** The modules Sunset touches, for building "every scope" grants. */
export const BOOKS_SCOPE_MODULES = [
  'contacts', 'settings', 'invoices', 'salesorders', 'estimates', 'creditnotes', 'customerpayments',
  'bills', 'purchaseorders', 'vendorpayments', 'debitnotes',
] as const;
