/** `sunset contacts activate|deactivate ID... [--from FILE.csv]`: one-off and bulk changes through the journal. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createChangeRun, CsvInputError, lookUpContacts, parseChangesCsv, QuotaWait, RunInputError, type BooksPort, type ContactChange, type LookupResult,
} from '../../engine/index.js';
import { intFlag, parseFlags } from '../args.js';
import { actorName, COMMON_FLAGS, COMMON_HELP, executeRun, explain, openSession, resolveOrganization } from '../common.js';
import { confirm, createProgress } from '../context.js';
import { ExitError, EXIT_USAGE } from '../exit-error.js';
import type { CliIO } from '../main.js';

const help = (verb: string): string => `Usage: sunset contacts ${verb} CONTACT_ID... [options]
       sunset contacts ${verb} --from FILE.csv [options]

Marks the contacts ${verb === 'activate' ? 'active' : 'inactive'} as a journaled run: resumable after a crash, undoable with
\`sunset undo\`, in the audit trail. A contact already ${verb === 'activate' ? 'active' : 'inactive'} is reported unchanged. Every id is
checked first; one bad id or CSV line refuses the whole input and nothing is changed.

The CSV needs a header with contact_id; optional columns: action (activate/deactivate), contact_name,
reason.

Options:
  --from FILE           Read the contacts from a CSV file
  --reason TEXT         Why (kept in the audit trail)
  --yes                 Do not ask for confirmation (required when not on a terminal)
  --concurrency N       Steps in flight at once (default 5)
  --actor NAME          Who the audit trail names
${COMMON_HELP}
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(() => parseArgs({
    args: argv, strict: true, allowPositionals: true,
    options: { ...COMMON_FLAGS, from: { type: 'string' }, reason: { type: 'string' }, yes: { type: 'boolean' }, concurrency: { type: 'string' }, actor: { type: 'string' } },
  }), 'contacts');
  const verb = positionals[0];
  if (verb !== 'activate' && verb !== 'deactivate') {
    if (values.help || verb === undefined) {
      io.stdout.write(`${help('activate|deactivate')}`);
      return verb === undefined && !values.help ? 2 : 0;
    }
    throw new ExitError(`Unknown action "${verb}": use sunset contacts activate or sunset contacts deactivate.`, EXIT_USAGE);
  }
  if (values.help) {
    io.stdout.write(help(verb));
    return 0;
  }
  const ids = positionals.slice(1);
  if (ids.length === 0 && !values.from) throw new ExitError(`Name the contacts: sunset contacts ${verb} ID... or --from FILE.csv`, EXIT_USAGE);
  if (ids.length > 0 && values.from) throw new ExitError('Give ids or --from, not both.', EXIT_USAGE);
  const concurrency = intFlag(values.concurrency, 'concurrency', 1, 50);
  let changes: ContactChange[];
  if (values.from) {
    let text: string;
    try {
      text = readFileSync(values.from, 'utf8');
    } catch (error) {
      throw new ExitError(`${values.from}: cannot read it (${(error as { code?: string }).code ?? String(error)}).`, EXIT_USAGE);
    }
    try {
      changes = parseChangesCsv(text, values.from, verb);
    } catch (error) {
      if (error instanceof CsvInputError) throw new ExitError(`The CSV is not usable; nothing was changed.\n${error.message}`, EXIT_USAGE);
      throw error;
    }
  } else {
    changes = ids.map((contactId) => ({ contactId, action: verb }));
  }
  if (values.reason) changes = changes.map((c) => ({ ...c, reason: c.reason ?? values.reason }));
  // Check the ids before touching the network.
  const bad = changes.filter((c) => !/^[0-9]{15,19}$/.test(c.contactId));
  if (bad.length > 0) throw new ExitError(`Not Zoho contact ids (15 to 19 digits): ${bad.slice(0, 5).map((c) => JSON.stringify(c.contactId)).join(', ')}. Nothing was changed.`, EXIT_USAGE);

  const session = await openSession(io, values);
  try {
    const organizationId = await resolveOrganization(session.connection, values.org);
    // Every id is looked up before the first change: one the organization does not have refuses
    // the whole input (a typo, a deleted contact, an id of another organization).
    const port = session.connection.port(organizationId);
    const found = await lookUp(io, port, changes.map((c) => c.contactId), values.quiet === true || values.json === true);
    if (found.unknown.length > 0) {
      const u = found.unknown;
      throw new ExitError(`${u.length === 1 ? 'This contact is' : `These ${u.length} contacts are`} not in organization ${organizationId} (deleted, mistyped, or of another organization): `
        + `${u.slice(0, 20).join(', ')}${u.length > 20 ? `, ... and ${u.length - 20} more` : ''}. Nothing was changed.`);
    }
    changes = changes.map((c) => {
      const contact = found.contacts.get(c.contactId)!;
      return { ...c, contactName: c.contactName ?? contact.contactName, contactType: contact.contactType };
    });
    const n = changes.length;
    if (!(await confirm(io, `${verb === 'activate' ? 'Activate' : 'Deactivate'} ${n} contact${n === 1 ? '' : 's'} in organization ${organizationId} (${session.connection.description})?`, values.yes === true))) {
      io.stderr.write('Nothing was changed.\n');
      return 1;
    }
    let runRecord;
    try {
      runRecord = await createChangeRun(session.journal, {
        organizationId, kind: 'manual', changes, createdBy: actorName(io.env, values.actor), now: Date.now(),
        note: values.from ? `from ${values.from}` : `contacts ${verb}`,
      });
    } catch (error) {
      if (error instanceof RunInputError) throw new ExitError(error.message, EXIT_USAGE);
      throw error;
    }
    if (!values.json && !values.quiet) io.stderr.write(`Run ${runRecord.runId} started.\n`);
    return await executeRun(io, session, runRecord, {
      yes: true, question: '', concurrency, fingerprint: false, quiet: values.quiet === true, json: values.json === true, failpoint: io.env.SUNSET_FAILPOINT,
    });
  } finally {
    await session.close();
  }
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
