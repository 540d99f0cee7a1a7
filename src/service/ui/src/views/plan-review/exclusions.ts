/**
 * The contacts a reviewer excludes from a plan's run: kept in the browser tab (sessionStorage)
 * until the plan is approved, so a reload does not lose them. Only steps can be excluded, and
 * nothing once the plan has a run.
 */
import type { PlanRow } from '../../../../api-types.js';
import { ID, isStep } from './rows.js';

export interface Exclusions {
  has(contactId: string): boolean;
  readonly size: number;
  /** Excludes (or includes again) these rows' contacts; false when nothing may change. */
  set(rows: readonly PlanRow[], on: boolean): boolean;
  /** The excluded contacts' ids, for the approval. */
  ids(): string[];
  /** Takes back what this tab kept, for the contacts of `rows` that are steps. */
  restore(rows: readonly PlanRow[]): void;
  /** Forgets what this tab kept (the plan is approved). */
  forget(): void;
}

export function createExclusions(planId: string, locked: boolean): Exclusions {
  const key = `sunset.exclude.${planId}`;
  const excluded = new Set<string>();
  const persist = (): void => {
    try {
      if (excluded.size) sessionStorage.setItem(key, JSON.stringify([...excluded]));
      else sessionStorage.removeItem(key);
    } catch {
      // storage off
    }
  };
  return {
    has: (id) => excluded.has(id),
    get size() {
      return excluded.size;
    },
    set(rows, on) {
      if (locked) return false;
      for (const r of rows) {
        if (!isStep(r)) continue;
        if (on) excluded.add(r[ID]);
        else excluded.delete(r[ID]);
      }
      persist();
      return true;
    },
    ids: () => [...excluded],
    restore(rows) {
      if (locked) return;
      try {
        const saved: unknown = JSON.parse(sessionStorage.getItem(key) ?? '[]');
        if (!Array.isArray(saved) || saved.length === 0) return;
        const wanted = new Set(saved.map(String));
        for (const r of rows) if (isStep(r) && wanted.has(r[ID])) excluded.add(r[ID]);
      } catch {
        // storage off: start empty
      }
    },
    forget() {
      try {
        sessionStorage.removeItem(key);
      } catch {
        // storage off
      }
    },
  };
}
