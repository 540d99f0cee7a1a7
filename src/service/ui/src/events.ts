/**
 * The app's one EventSource (`GET /api/events`): runs, jobs and CRM events as the service sends
 * them (ServiceEvent in api-types.ts), handed to whoever listens, with the header's live dot
 * saying whether updates arrive.
 */
import type { RunProgress, ServiceEvent } from '../../api-types.js';

export type EventHandler = (event: ServiceEvent) => void;

export interface LiveEvents {
  start(): void;
  /** Calls fn for every event until the returned function is called. */
  subscribe(fn: EventHandler): () => void;
  /** A run's latest `run` event, so a run page opened mid-run shows its phase and rate at once. */
  latestRun(runId: string): RunProgress | undefined;
}

type LiveState = 'connecting' | 'open' | 'closed';

const TYPES = ['run', 'job', 'webhook'] as const;

export function createLiveEvents(options: { statusEl: HTMLElement | null; refreshSession(): Promise<unknown> }): LiveEvents {
  const handlers = new Set<EventHandler>();
  const latest = new Map<string, RunProgress>();
  let retry = 0;

  const setState = (state: LiveState): void => {
    const el = options.statusEl;
    if (!el) return;
    el.dataset['state'] = state;
    el.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : 'offline';
    el.title = state === 'open' ? 'Live updates are on' : 'Live updates are off; the page still works, reload to refresh';
  };

  const deliver = (event: ServiceEvent): void => {
    if (event.type === 'run' && event.data.runId) {
      const id = String(event.data.runId);
      latest.delete(id);
      latest.set(id, event.data);
      if (latest.size > 50) latest.delete(latest.keys().next().value!);
    }
    for (const fn of [...handlers]) {
      try {
        fn(event);
      } catch (error) {
        console.error(error);
      }
    }
  };

  function start(): void {
    if (typeof EventSource === 'undefined') return setState('closed');
    const source = new EventSource('/api/events');
    setState('connecting');
    for (const type of TYPES) {
      source.addEventListener(type, (e) => {
        let data: unknown;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        if (!data || typeof data !== 'object') return;
        // The service sends what api-types.ts says for each event type.
        deliver({ type, data } as ServiceEvent);
      });
    }
    source.onopen = () => setState('open');
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (for example a 401): check the session, then try again later.
        setState('closed');
        window.clearTimeout(retry);
        retry = window.setTimeout(() => {
          options.refreshSession().then(start, () => setState('closed'));
        }, 5000);
      } else setState('connecting');
    };
  }

  return {
    start,
    subscribe(fn) {
      handlers.add(fn);
      return () => handlers.delete(fn);
    },
    latestRun: (runId) => latest.get(runId),
  };
}
