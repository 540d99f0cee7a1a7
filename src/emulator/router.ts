/**
 * A small path router: patterns like `/books/v3/contacts/:contact_id/active`. It knows when a path
 * exists under another method, so the pipeline can answer 405 instead of 404.
 */

export interface RouteMatch<T> {
  route: T;
  params: Record<string, string>;
}

export type RouteLookup<T> =
  | { kind: 'found'; match: RouteMatch<T> }
  | { kind: 'method_not_allowed'; allowed: string[] }
  | { kind: 'not_found' };

interface Entry<T> {
  method: string;
  segments: string[];
  route: T;
}

export interface Router<T> {
  add(method: string, pattern: string, route: T): void;
  lookup(method: string, segments: readonly string[]): RouteLookup<T>;
}

export function createRouter<T>(): Router<T> {
  const byLength = new Map<number, Entry<T>[]>();

  function matches(entry: Entry<T>, segments: readonly string[]): Record<string, string> | undefined {
    const params: Record<string, string> = {};
    for (let i = 0; i < entry.segments.length; i++) {
      const want = entry.segments[i] as string;
      const got = segments[i] as string;
      if (want.startsWith(':')) {
        if (got === '') return undefined;
        params[want.slice(1)] = got;
      } else if (want !== got) return undefined;
    }
    return params;
  }

  return {
    add(method, pattern, route) {
      const segments = pattern.split('/').filter((s) => s !== '');
      const list = byLength.get(segments.length) ?? [];
      list.push({ method: method.toUpperCase(), segments, route });
      byLength.set(segments.length, list);
    },
    lookup(method, segments) {
      const candidates = byLength.get(segments.length) ?? [];
      const allowed: string[] = [];
      for (const entry of candidates) {
        const params = matches(entry, segments);
        if (!params) continue;
        if (entry.method === method) return { kind: 'found', match: { route: entry.route, params } };
        allowed.push(entry.method);
      }
      return allowed.length > 0 ? { kind: 'method_not_allowed', allowed } : { kind: 'not_found' };
    },
  };
}
