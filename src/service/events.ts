/** The service's event bus: runs, jobs and webhook events, fanned out to SSE clients. */
import type { ServiceEvent } from './api-types.js';

export type { ServiceEvent };

export interface EventBus {
  emit(event: ServiceEvent): void;
  subscribe(listener: (event: ServiceEvent) => void): () => void;
}

export function createEventBus(): EventBus {
  const listeners = new Set<(event: ServiceEvent) => void>();
  return {
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // a broken subscriber (a closed connection) must not stop the others
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
