/**
 * Which organization a command works on: named, chosen at login, the only one reachable, or asked
 * for on a terminal; never picked silently among several.
 */
import { createInterface } from 'node:readline';
import { isOrganizationId } from '../zoho/index.js';
import { explain, type Connection } from './connection.js';
import { EXIT, ExitError } from './exit-codes.js';
import type { CliIO } from './io.js';

/**
 * The organization to work on: the flag (or the policy's), else the one the user chose at `sunset
 * auth login`, else the only one reachable. With several and none chosen, asks on a terminal (when
 * given `io`) and refuses otherwise: picking one silently could act on the wrong books.
 */
export async function resolveOrganization(connection: Connection, flag: string | undefined, fromPolicy?: string, io?: CliIO): Promise<string> {
  const wanted = flag ?? fromPolicy;
  if (wanted !== undefined && !isOrganizationId(wanted)) throw new ExitError(`--org ${wanted}: an organization id is digits only.`, EXIT.usage);
  let organizations: Array<{ organizationId: string; name: string }>;
  try {
    organizations = await connection.port(wanted ?? connection.defaultOrganizationId ?? '0').organizations();
  } catch (error) {
    throw explain(error, `listing the organizations of ${connection.description}`);
  }
  if (wanted !== undefined) {
    if (!organizations.some((o) => o.organizationId === wanted)) {
      throw new ExitError(`Organization ${wanted} is not reachable with these credentials (${connection.description}). Reachable: ${organizations.map((o) => `${o.organizationId} (${o.name})`).join(', ') || 'none'}.`, EXIT.notFound);
    }
    return wanted;
  }
  if (connection.defaultOrganizationId && organizations.some((o) => o.organizationId === connection.defaultOrganizationId)) return connection.defaultOrganizationId;
  if (organizations.length === 1) return organizations[0]!.organizationId;
  if (organizations.length === 0) throw new ExitError(`No organization is reachable through ${connection.description}.`);
  if (io?.stdin.isTTY) return chooseOrganization(io, organizations, connection.description);
  throw new ExitError(
    `${organizations.length} organizations are reachable through ${connection.description} and none is the default:\n${listOrganizations(organizations)}` +
      `${io ? 'Not a terminal, so nothing was asked: n' : 'N'}ame one with --org (\`sunset auth login --org ID\` makes one the default).`,
    EXIT.usage,
  );
}

function listOrganizations(organizations: ReadonlyArray<{ organizationId: string; name: string }>): string {
  return organizations.map((o, i) => `  ${i + 1}. ${o.organizationId}  ${o.name}\n`).join('');
}

/**
 * Lists the organizations numbered and reads a choice (its number or its id) from the terminal,
 * asking again after an answer that is neither; the input ending is a refusal.
 */
export async function chooseOrganization(io: CliIO, organizations: ReadonlyArray<{ organizationId: string; name: string }>, where: string): Promise<string> {
  io.stderr.write(`Several organizations are reachable through ${where}:\n${listOrganizations(organizations)}`);
  // Line editing (terminal mode) writes escape sequences: only where they are wanted.
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: io.escapes });
  // The iterator buffers lines, so an answer typed (or piped) ahead of the prompt is not lost.
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      rl.setPrompt(`Which one (1-${organizations.length}, or its id)? `);
      rl.prompt();
      const line = await lines.next();
      if (line.done) {
        // Ctrl-D or Ctrl-C at the prompt: end its line before the message.
        io.stderr.write('\n');
        throw new ExitError('No organization was chosen, so nothing was done. Name one with --org.', EXIT.usage);
      }
      const answer = (line.value as string).trim();
      const chosen = /^\d{1,3}$/.test(answer) ? organizations[Number(answer) - 1] : organizations.find((o) => o.organizationId === answer);
      if (chosen) return chosen.organizationId;
      io.stderr.write(`"${answer}" is not one of them: type a number from 1 to ${organizations.length}.\n`);
    }
  } finally {
    rl.close();
  }
}
