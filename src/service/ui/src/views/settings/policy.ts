/**
 * The policy editor: the YAML with line numbers; Save checks it first, and a policy with problems
 * is not saved (each problem listed with its line and column, a click jumps there). Tab indents,
 * Ctrl+S saves; leaving with unsaved changes asks first.
 */
import type { OrganizationView } from '../../../../api-types.js';
import type { PolicyProblem } from '../../../../../engine/index.js';
import { ApiError } from '../../api.js';
import type { App, View } from '../../app.js';
import { h } from '../../dom.js';

/** A problem to list: the policy's own, or the refusal's message when it came without any. */
type Problem = Pick<PolicyProblem, 'message'> & Partial<Pick<PolicyProblem, 'line' | 'column' | 'path'>>;

export function policySection(app: App, view: View, organization: OrganizationView): HTMLElement {
  const { api, fmt } = app;
  const id = organization.organizationId;
  let saved = organization.policy.text;
  // No policy saved yet: the editor starts from the starter policy, shown as unsaved changes.
  const draft = !organization.policy.saved ? organization.policy.draft ?? '' : '';
  const ta = h('textarea', {
    class: 'code-input', id: 'policy-text', testid: 'policy-editor', spellcheck: 'false', wrap: 'off', autocapitalize: 'none', 'aria-describedby': 'policy-help',
  });
  ta.value = draft || saved;
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const problemsList = h('ul', { class: 'problems', testid: 'policy-problems' });
  const status = h('span', { class: 'status', role: 'status', testid: 'policy-status' });
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary needs-admin', testid: 'policy-save' }, 'Save policy');
  const revertBtn = h('button', {
    type: 'button', class: 'btn', testid: 'policy-revert',
    onclick: () => {
      ta.value = saved || draft;
      update();
      showProblems([]);
      status.textContent = '';
    },
  }, 'Revert');
  let badLines = new Set<number>();
  let lineCount = -1;
  let gutterStale = false;

  function renderGutter(): void {
    const n = ta.value.split('\n').length;
    if (n === lineCount && !gutterStale) return;
    lineCount = n;
    gutterStale = false;
    const spans: HTMLElement[] = [];
    for (let i = 1; i <= n; i++) spans.push(h('span', { class: badLines.has(i) ? 'bad' : null }, String(i)));
    gutter.replaceChildren(...spans);
    gutter.scrollTop = ta.scrollTop;
  }
  function update(): void {
    renderGutter();
    const dirty = ta.value !== saved;
    status.textContent = dirty ? 'Unsaved changes' : '';
    status.className = dirty ? 'status status-warn' : 'status';
    revertBtn.disabled = ta.value === (saved || draft);
  }
  function jumpTo(line: number, column: number | undefined): void {
    const lines = ta.value.split('\n');
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i]!.length + 1;
    const lineText = lines[line - 1] ?? '';
    const start = pos + Math.max(0, Math.min(lineText.length, (column || 1) - 1));
    ta.focus();
    ta.setSelectionRange(start, pos + lineText.length);
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (line - 4) * lh);
  }
  function showProblems(problems: readonly Problem[], nothingSaved = false): void {
    badLines = new Set(problems.map((p) => p.line).filter((l): l is number => typeof l === 'number'));
    gutterStale = true;
    renderGutter();
    problemsList.replaceChildren();
    if (problems.length === 0) return;
    if (nothingSaved) problemsList.append(h('li', { class: 'problems-head' }, `${fmt.plural(problems.length, 'problem')}: nothing was saved.`));
    for (const p of problems) {
      const where = p.line ? `line ${p.line}${p.column ? `:${p.column}` : ''}` : 'policy';
      problemsList.append(h('li', { testid: 'policy-problem' },
        h('button', { type: 'button', class: 'linklike', onclick: () => p.line && jumpTo(p.line, p.column) }, where),
        p.path ? h('code', { class: 'path' }, p.path) : null,
        ' ', p.message));
    }
  }
  async function save(): Promise<void> {
    saveBtn.disabled = true;
    status.textContent = 'Saving…';
    try {
      const res = await api.savePolicy(id, ta.value, { expect: [400] });
      saved = res.policy.text;
      if (ta.value !== saved) ta.value = saved;
      update();
      showProblems(res.policy.problems);
      status.textContent = 'Saved. The next scan uses this policy.';
      status.className = 'status status-ok';
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        const problems = err.body?.problems ?? [];
        showProblems(problems.length ? problems : [{ message: err.message }], true);
        status.textContent = 'Not saved: fix the problems below.';
      } else status.textContent = 'Not saved.';
      status.className = 'status status-error';
    } finally {
      saveBtn.disabled = false;
    }
  }
  ta.addEventListener('input', update);
  ta.addEventListener('scroll', () => {
    gutter.scrollTop = ta.scrollTop;
  });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end');
      update();
    } else if ((e.ctrlKey || e.metaKey) && e.key === 's') {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  const form = h('form', { class: 'stack', onsubmit: (e) => {
    e.preventDefault();
    void save();
  } },
  h('div', { class: 'editor' }, gutter, ta),
  h('div', { class: 'actions' }, saveBtn, revertBtn, status),
  problemsList);
  update();
  showProblems(organization.policy.problems);
  // Leaving with unsaved changes asks first (closing the tab or navigating away).
  const beforeUnload = (e: BeforeUnloadEvent): void => {
    if (ta.value !== saved) {
      e.preventDefault();
      e.returnValue = '';
    }
  };
  window.addEventListener('beforeunload', beforeUnload);
  view.cleanup(() => window.removeEventListener('beforeunload', beforeUnload));
  return h('section', { class: 'panel', id: 'policy', 'aria-labelledby': 'policy-h' },
    h('h2', { id: 'policy-h' }, 'Policy'),
    h('p', { class: 'help', id: 'policy-help' }, 'The rules (YAML) that decide which contacts are dormant and which are left alone: inactivity window, open balances, unused credits, grace period, filters, allow and deny lists, a cap. A policy with problems is not saved. Ctrl+S saves.'),
    form);
}
