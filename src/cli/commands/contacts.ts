/** `sunset contacts activate|deactivate ID... [--from FILE.csv]`: a manual run (docs/glossary.md) through the journal. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  createManualRun, CsvInputError, defaultPolicyText, lookUpContacts, parseChangesCsv, parsePolicy, PolicyError, QuotaWait, RunInputError, safetyExclusion,
  type BooksPort, type ContactChange, type LookupResult, type Policy, type SafetyExclusion,
} from '../../engine/index.js';
import { oneLine } from '../../engine/one-line.js';
import { actorName } from '../actor.js';
import { intFlag, parseFlags } from '../args.js';
import { explain } from '../connection.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { resolveOrganization } from '../organization.js';
import { loadPolicy } from '../policy.js';
import { executeRun } from '../run-execution.js';
import { confirm, createProgress } from '../terminal.js';
import { COMMON_FLAGS, COMMON_HELP, openWorkspace, withEnvTwins } from '../workspace.js';

const VERBS = {
  activate: 'Marks the contacts active again. No safety exclusions apply.',
  deactivate: 'Marks the contacts inactive, except those the safety exclusions keep.',
} as const;

/** The help of one verb, or of both (`sunset contacts --help`). */
function help(verb: 'activate' | 'deactivate' | undefined): string {
  const verbs = verb ? [verb] : (['activate', 'deactivate'] as const);
  const v = verb ?? 'activate|deactivate';
  const safety = verb !== 'activate';
  return `Usage: sunset contacts ${v} CONTACT_ID... [options]
       sunset contacts ${v} --from FILE.csv [options]

${verbs.map((name) => `  ${name.padEnd(11)} ${VERBS[name]}`).join('\n')}

The change is a journaled run: resumable after a crash (\`sunset apply --resume\`), undoable with
\`sunset undo\`, in the audit trail. A contact already in the wanted status is reported unchanged.

Every id is checked first, and against the organization: a malformed id or an unusable CSV line
(exit 2), or an id the organization does not have (deleted, mistyped, of another organization;
exit 3), refuses the whole input, and nothing is changed. A few ids are read one by one; many are
found by listing the organization's contacts, 200 a page.
${safety ? `
Safety exclusions (deactivate): as in a plan, a contact that owes or is owed money, has unused
credits, or was created within the grace period is kept: left out of the run and listed with its
name, id and why, in the confirmation and in the output (\`excluded\` in --json). The settings are
the \`safety\` section of --policy FILE, else of the organization's policy in the journal (saved by
\`sunset scan --policy\` or the web UI), else the default policy's (open_balance, unused_credits,
grace_period 90 days). --force deactivates them anyway: each such step's reason says
"forced past the safety exclusions: ..." in the audit trail (\`forced\` in --json). When every
contact is kept, no run is made and the exit code is 1.
` : ''}
CSV: a header row with contact_id, and optionally action (activate or deactivate; it must agree
with the command), contact_name and reason; any other column is refused. Zoho Books' own contact
export is read as it is: header names match ignoring case, spaces and underscores (Contact ID;
Display Name or Contact Name), cells may be separated by ";" or a tab (read from the header line),
a leading BOM is skipped, and Zoho's other columns are ignored.

Options:
  --from FILE           Read the contacts from a CSV file (Sunset's or Zoho's export)
  --reason TEXT         Why (kept in the audit trail)
${safety ? `  --policy FILE         Take the safety exclusions from this policy's \`safety\` section
  --force               Deactivate the contacts the safety exclusions keep too (the audit trail
                        records the override for each)
` : ''}  --yes                 Do not ask for confirmation (required when not on a terminal)
  --concurrency N       Steps in flight at once (default 5)
  --actor NAME          Who the audit trail names
${COMMON_HELP}

Exit codes: 0 done; 1 nothing was changed (every contact kept by the safety exclusions, not
confirmed); 2 bad flags or input; 3 an id or the organization not found; 5 a step failed; 130
stopped (resume it with \`sunset apply --resume RUN\`). See \`sunset --help\`.
`;
}

export const OPTIONS = {
  ...COMMON_FLAGS, from: { type: 'string' }, reason: { type: 'string' }, yes: { type: 'boolean' }, concurrency: { type: 'string' }, actor: { type: 'string' },
  policy: { type: 'string' }, force: { type: 'boolean' },
} as const;

export const SUBCOMMANDS = Object.keys(VERBS) as Array<keyof typeof VERBS>;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'contacts');
  const verb = positionals[0];
  if (verb !== 'activate' && verb !== 'deactivate') {
    if (given.help) {
      io.stdout.write(help(undefined));
      return EXIT.ok;
    }
    if (verb === undefined) throw new ExitError(`\`sunset contacts\` needs a subcommand: sunset contacts activate, sunset contacts deactivate.\n\n${help(undefined)}`, EXIT.usage);
    throw new ExitError(`Unknown action "${verb}": use sunset contacts activate or sunset contacts deactivate.`, EXIT.usage);
  }
  if (given.help) {
    io.stdout.write(help(verb));
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  const ids = positionals.slice(1);
  if (ids.length === 0 && !values.from) throw new ExitError(`Name the contacts: sunset contacts ${verb} ID... or --from FILE.csv`, EXIT.usage);
  if (ids.length > 0 && values.from) throw new ExitError('Give ids or --from, not both.', EXIT.usage);
  if (verb === 'activate' && (values.force || values.policy !== undefined)) {
    throw new ExitError('--force and --policy are for deactivate: activating a contact has no safety exclusions.', EXIT.usage);
  }
  const concurrency = intFlag(values.concurrency, 'concurrency', 1, 50);
  // The policy is read before anything else is: a broken one refuses the command up front.
  const policy = values.policy === undefined ? undefined : loadPolicy(values.policy).policy;
  let changes: ContactChange[];
  if (values.from) {
    let text: string;
    try {
      text = readFileSync(values.from, 'utf8');
    } catch (error) {
      throw new ExitError(`${values.from}: cannot read it (${(error as { code?: string }).code ?? String(error)}).`, EXIT.usage);
    }
    try {
      changes = parseChangesCsv(text, values.from, verb);
    } catch (error) {
      if (error instanceof CsvInputError) throw new ExitError(`The CSV is not usable; nothing was changed.\n${error.message}`, EXIT.usage);
      throw error;
    }
  } else {
    changes = ids.map((contactId) => ({ contactId, action: verb }));
  }
  if (values.reason) changes = changes.map((c) => ({ ...c, reason: c.reason ?? values.reason }));
  // Check the ids before touching the network.
  const bad = changes.filter((c) => !/^[0-9]{15,19}$/.test(c.contactId));
  if (bad.length > 0) throw new ExitError(`Not Zoho contact ids (15 to 19 digits): ${bad.slice(0, 5).map((c) => JSON.stringify(c.contactId)).join(', ')}. Nothing was changed.`, EXIT.usage);

  const workspace = await openWorkspace(io, values);
  try {
    const organizationId = await resolveOrganization(workspace.connection, values.org, policy?.organizationId, io);
    if (policy && organizationId !== policy.organizationId) {
      throw new ExitError(`--org ${organizationId} differs from the policy's organization ${policy.organizationId}; a policy is for one organization. Nothing was changed.`, EXIT.usage);
    }
    // Every id is looked up before the first change: one the organization does not have refuses
    // the whole input (a typo, a deleted contact, an id of another organization).
    const port = workspace.connection.port(organizationId);
    const found = await lookUp(io, port, changes.map((c) => c.contactId), values.quiet === true || values.json === true);
    if (found.unknown.length > 0) {
      const u = found.unknown;
      throw new ExitError(`${u.length === 1 ? 'This contact is' : `These ${u.length} contacts are`} not in organization ${organizationId} (deleted, mistyped, or of another organization): `
        + `${u.slice(0, 20).join(', ')}${u.length > 20 ? `, ... and ${u.length - 20} more` : ''}. Nothing was changed.`, EXIT.notFound);
    }
    // The safety exclusions of a plan apply to a deactivation by hand too, on the contacts as the
    // lookup found them (no second read). Activating has none.
    const stored = policy ? undefined : await workspace.journal.policy(organizationId);
    let safety: Policy['safety'];
    try {
      safety = (policy ?? parsePolicy(stored?.text ?? defaultPolicyText(organizationId), stored ? `the stored policy of ${organizationId}` : 'the default policy')).safety;
    } catch (error) {
      if (error instanceof PolicyError) throw new ExitError(`The stored policy of organization ${organizationId} is not usable; nothing was changed.\n${error.message}`, EXIT.usage);
      throw error;
    }
    const safetySource = policy ? `from ${values.policy}` : stored ? `from the organization's policy` : 'the defaults';
    const now = Date.now();
    const excluded: SafetyExclusion[] = [];
    const forced: SafetyExclusion[] = [];
    const kept: ContactChange[] = [];
    for (const c of changes) {
      const contact = found.contacts.get(c.contactId)!;
      const change: ContactChange = { ...c, contactName: c.contactName ?? contact.contactName, contactType: contact.contactType };
      const exclusion = c.action === 'deactivate' ? safetyExclusion(contact, safety, now) : undefined;
      if (!exclusion) kept.push(change);
      else if (!values.force) excluded.push(exclusion);
      else {
        forced.push(exclusion);
        const override = `forced past the safety exclusions: ${exclusion.detail}`;
        kept.push({ ...change, reason: change.reason ? `${change.reason}; ${override}` : override });
      }
    }
    const extras = { excluded, forced };
    if (kept.length === 0) {
      // With --json, the failure's document carries what was found: { run: null, ..., excluded, error }.
      if (!values.json) io.stdout.write(listExclusions(excluded, 'Kept by the safety exclusions (not changed; --force overrides them):'));
      throw new ExitError(`Nothing was changed: ${excluded.length === 1 ? 'the contact is' : `all ${excluded.length} contacts are`} kept by the safety exclusions`
        + ` (${describeSafety(safety)}, ${safetySource}). --force deactivates them anyway; --policy FILE takes the settings from a policy.`, EXIT.failure, { run: null, counts: null, ...extras });
    }
    const n = kept.length;
    const question = listExclusions(excluded, `Kept by the safety exclusions (not changed; --force overrides them):`)
      + listExclusions(forced, 'Forced past the safety exclusions (--force; recorded in the audit trail):')
      + `${verb === 'activate' ? 'Activate' : 'Deactivate'} ${n} contact${n === 1 ? '' : 's'}${excluded.length > 0 ? ` (${excluded.length} kept)` : ''} in organization ${organizationId} (${workspace.connection.description})?`;
    if (!(await confirm(io, question, values.yes === true))) throw new ExitError('Nothing was changed.');
    let runRecord;
    try {
      runRecord = await createManualRun(workspace.journal, {
        organizationId, target: workspace.connection.target, kind: 'manual', changes: kept, createdBy: actorName(io.env, values.actor), now,
        note: values.from ? `from ${values.from}` : `contacts ${verb}`,
      });
    } catch (error) {
      if (error instanceof RunInputError) throw new ExitError(error.message, EXIT.usage);
      throw error;
    }
    if (!values.json && !values.quiet) io.stderr.write(`Run ${runRecord.runId} started.\n`);
    const execute = (target: CliIO): Promise<number> => executeRun(target, workspace, runRecord, {
      yes: true, question: '', concurrency, fingerprint: false, quiet: values.quiet === true, json: values.json === true, failpoint: io.env.SUNSET_FAILPOINT,
    });
    if (values.json) return await withJsonExtras(io, extras, execute);
    const code = await execute(io);
    io.stdout.write(listExclusions(excluded, 'Kept by the safety exclusions (not changed; --force overrides them):'));
    io.stdout.write(listExclusions(forced, 'Forced past the safety exclusions (recorded in the audit trail):'));
    return code;
  } finally {
    await workspace.close();
  }
}

function describeSafety(safety: Policy['safety']): string {
  const rules = [
    safety.openBalance ? 'an open balance' : '',
    safety.unusedCredits ? 'unused credits' : '',
    safety.gracePeriod.amount > 0 ? `created within ${safety.gracePeriod.text}` : '',
  ].filter((r) => r !== '');
  return rules.length === 0 ? 'none are on' : rules.join(', ');
}

/** `title` and one line per contact (name, id, why); nothing for none. Long lists are cut: --json has them all. */
function listExclusions(list: SafetyExclusion[], title: string): string {
  if (list.length === 0) return '';
  const shown = list.slice(0, 50).map((e) => `  ${oneLine(e.contactName) || '(no name)'} (${e.contactId}): ${e.detail}\n`).join('');
  return `${title}\n${shown}${list.length > 50 ? `  ... and ${list.length - 50} more (--json lists them all)\n` : ''}`;
}

/** Runs `execute` with stdout captured, and prints its JSON document with `extras` added. */
async function withJsonExtras(io: CliIO, extras: Record<string, unknown>, execute: (io: CliIO) => Promise<number>): Promise<number> {
  let text = '';
  const capture = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  const code = await execute({ ...io, stdout: capture });
  capture.end();
  await finished(capture);
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(text) as Record<string, unknown>;
  } catch {
    io.stdout.write(text);
    return code;
  }
  io.stdout.write(`${JSON.stringify({ ...document, ...extras })}\n`);
  return code;
}

/** The lookup, with progress on stderr while it lasts (pages of a large organization take a while). */
async function lookUp(io: CliIO, port: BooksPort, ids: string[], quiet: boolean): Promise<LookupResult> {
  const progress = createProgress(io, quiet);
  try {
    return await lookUpContacts(port, ids, {
      onProgress: (p) => progress.update(`Looking up ${p.total} contacts: ${p.found} found (${p.pages} pages of 200, ${p.gets} single reads)...`),
    });
  } catch (error) {
    if (error instanceof QuotaWait) {
      throw new ExitError(`${error.message} Nothing was changed; try again${error.resetAt ? ` after ${new Date(error.resetAt).toISOString()}` : ' later'}.`);
    }
    throw explain(error, 'looking up the contacts');
  } finally {
    progress.done();
  }
}
