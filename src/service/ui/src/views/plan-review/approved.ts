/**
 * An approved plan says so where "Nothing has changed yet" would be: who approved it and when, and
 * its run, whose state follows the event stream (the run is read again after each burst of events,
 * so a late answer cannot stick).
 */
import type { RunView } from '../../../../api-types.js';
import type { RunCounts } from '../../../../../engine/index.js';
import type { App, View } from '../../app.js';
import { enc, h } from '../../dom.js';
import { throttle } from '../../timing.js';
import { badge, timeEl } from '../../widgets/parts.js';
import { applyRunEvent, progressOf } from '../../widgets/run-status.js';

function statusWords(run: RunView): string {
  switch (run.status) {
    case 'pending': return run.applying ? 'The run is starting: contacts will change in Zoho Books in a moment.' : 'No process is applying the run yet: the service starts it when it starts, or Resume on the run page starts it now.';
    case 'running': return 'Contacts are being changed in Zoho Books now.';
    case 'interrupted': return 'The run was interrupted: the service resumes it when it starts, or Resume on the run page continues it now.';
    case 'done': return 'Its changes are made in Zoho Books; the run page can undo them.';
    case 'paused': return 'The run is paused: resume it from the run page.';
    default: return 'The run page shows what was changed.';
  }
}

export function approvedCallout(app: App, view: View, { organizationId, runId }: { organizationId: string; runId: string }): HTMLElement {
  const { api, fmt } = app;
  const el = h('div', { class: 'callout callout-approved', testid: 'plan-approved', 'aria-live': 'polite' },
    'This plan was approved: ', h('a', { href: `#/runs/${enc(runId)}`, class: 'id' }, `run ${runId}`), '.');
  let run: RunView | null = null;
  let counts: RunCounts | null = null;
  const render = (): void => {
    if (!run || !counts) return;
    const p = progressOf(counts);
    el.replaceChildren(
      h('p', null, h('strong', null, 'Approved'), ' by ', h('span', { testid: 'plan-approved-by' }, run.createdBy), ' on ', h('span', { testid: 'plan-approved-at' }, timeEl(fmt, run.createdAt)), '. ',
        'Its run ', h('a', { href: `#/runs/${enc(runId)}`, class: 'id', testid: 'plan-approved-run' }, runId), ' is ', h('span', { testid: 'plan-run-state' }, badge(run.status)),
        `: ${fmt.count(p.done)} of ${fmt.plural(p.total, 'step')} finished, ${fmt.count(counts.changed)} changed.`),
      h('p', null, statusWords(run)));
  };
  const load = async (): Promise<void> => {
    const list = await api.runs(organizationId, { silent: true });
    const found = list.find((e) => e.run.runId === runId) ?? await api.run(runId, { silent: true });
    if (!view.alive) return;
    run = found.run;
    counts = found.counts;
    render();
  };
  void load().catch(() => undefined);
  const reload = throttle(() => void load().catch(() => undefined), 1000);
  view.cleanup(reload.cancel);
  view.onEvent((event) => {
    if (event.type !== 'run' || event.data.runId !== runId) return;
    if (run) {
      applyRunEvent(run, event.data);
      if (event.data.counts) counts = event.data.counts;
      render();
    }
    reload();
  });
  return el;
}
