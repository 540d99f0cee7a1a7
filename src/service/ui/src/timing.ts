/** Calls that wait: debounce (after a pause) and throttle (at most once per interval). */

export interface Deferred<A extends unknown[]> {
  (...args: A): void;
  cancel(): void;
}

/** Calls fn `ms` after the last call (with that call's arguments). */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Deferred<A> {
  let timer = 0;
  const wrapped = (...args: A): void => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
  return Object.assign(wrapped, { cancel: () => window.clearTimeout(timer) });
}

/** Runs fn at most once per `ms`, the last call winning. */
export function throttle(fn: () => void, ms: number): Deferred<[]> {
  let timer = 0;
  let last = 0;
  const wrapped = (): void => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = window.setTimeout(() => {
      timer = 0;
      last = Date.now();
      fn();
    }, wait);
  };
  return Object.assign(wrapped, {
    cancel: () => {
      window.clearTimeout(timer);
      timer = 0;
    },
  });
}
