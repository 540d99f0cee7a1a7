/** A run's state as people should read it, its progress, and what a `run` event changes in it. */
import type { RunProgress, RunView } from '../../../api-types.js';
import type { RunCounts, RunRecord } from '../../../../engine/index.js';
import { h } from '../dom.js';
import type { Format } from '../format.js';

export const ACTIVE_RUN_STATES: ReadonlySet<string> = new Set(['pending', 'running']);

/** Why a run is not moving although it is not finished, or null: the line shown beside its state. */
export function runStatusNote(run: RunView): string | null {
  if (run.status === 'interrupted') {
    return 'Interrupted: no process is applying it (the service or the command line stopped while it ran). The service resumes it when it starts; Resume continues it now.';
  }
  if (run.status === 'pending' && !run.applying) {
    return 'Approved, but no process is applying it (the service stopped before it began). The service starts it when it starts; Resume starts it now.';
  }
  if (run.status === 'running' && !run.applying && run.driver) {
    return `Being applied by ${driverText(run.driver)}: stop it there.`;
  }
  return null;
}

/** "process 4242 on build-01": a driver's lease owner is host:pid:random. */
export function driverText(driver: NonNullable<RunRecord['driver']>): string {
  const [host, pid] = driver.owner.split(':');
  return `process ${pid || '?'} on ${host || '?'}`;
}

/**
 * A `run` event on a run shown: the events come from this service's own job applying it, so what
 * they say is live (the state, whether it is applied, the counts).
 */
export function applyRunEvent(run: RunView, data: RunProgress): void {
  if (!data.state) return;
  run.state = data.state;
  run.status = data.state;
  run.applying = ACTIVE_RUN_STATES.has(data.state) && !data.error;
}

export interface Progress {
  total: number;
  done: number;
  /** 0 to 100. */
  pct: number;
}

export function progressOf(c: RunCounts): Progress {
  const done = c.changed + c.unchanged + c.skipped + c.failed;
  return { total: c.total, done, pct: c.total > 0 ? Math.min(100, (done / c.total) * 100) : 0 };
}

const PARTS = ['changed', 'unchanged', 'skipped', 'failed'] as const;

/** Steps finished, one coloured part per outcome. */
export function progressBar(fmt: Format, counts: RunCounts, testid?: string): HTMLElement {
  const p = progressOf(counts);
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': p.total, 'aria-valuenow': p.done, 'aria-label': 'Steps finished', testid });
  for (const part of PARTS) {
    const v = counts[part];
    if (v > 0 && p.total > 0) {
      // Sizes go through the CSSOM: the Content-Security-Policy blocks style attributes.
      const seg = h('span', { class: `progress-part part-${part}`, title: `${fmt.count(v)} ${part}` });
      seg.style.width = `${((v / p.total) * 100).toFixed(3)}%`;
      bar.append(seg);
    }
  }
  return bar;
}
