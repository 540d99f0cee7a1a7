/**
 * The organization chooser `sunset policy init` (and any command given the terminal) shows when
 * several organizations are reachable and none was chosen at login, driven through real streams.
 * (test/cli/conventions.test.ts drives it on a pseudo-terminal through the built CLI.)
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseOrganization } from '../../src/cli/organization.js';
import { EXIT, ExitError } from '../../src/cli/exit-codes.js';
import { createIO, type CliIO } from '../../src/cli/io.js';

const ORGS = [{ organizationId: '701000001', name: 'Sunrise Traders Pvt Ltd' }, { organizationId: '701000002', name: 'Harbor Supply Co' }];

function streams(): { io: CliIO; stdin: PassThrough; shown: () => string } {
  const stdin = new PassThrough();
  const stderr = new PassThrough();
  let shown = '';
  stderr.setEncoding('utf8').on('data', (chunk: string) => (shown += chunk));
  const io: CliIO = createIO({ stdin, stdout: new PassThrough(), stderr, env: {}, onStop: () => undefined });
  return { io, stdin, shown: () => shown };
}

describe('chooseOrganization', () => {
  it('lists the organizations numbered with their names and returns the one whose number is typed', async () => {
    const { io, stdin, shown } = streams();
    const chosen = chooseOrganization(io, ORGS, 'the embedded emulator');
    stdin.write('2\n');
    await expect(chosen).resolves.toBe('701000002');
    expect(shown()).toContain('Several organizations are reachable through the embedded emulator:\n  1. 701000001  Sunrise Traders Pvt Ltd\n  2. 701000002  Harbor Supply Co\n');
    expect(shown()).toContain('Which one (1-2, or its id)? ');
  });

  it('asks again after an answer that is neither a number in the list nor an id, and takes an id', async () => {
    const { io, stdin, shown } = streams();
    const chosen = chooseOrganization(io, ORGS, 'the embedded emulator');
    // Typed ahead of the prompts: none of the lines is lost.
    stdin.write('\n0\n3\nharbor\n701000001\n');
    await expect(chosen).resolves.toBe('701000001');
    for (const bad of ['', '0', '3', 'harbor']) expect(shown()).toContain(`"${bad}" is not one of them: type a number from 1 to 2.`);
    expect(shown().split('Which one').length - 1).toBe(5);
  });

  it('the input ending before a choice is a usage refusal that says how to name one', async () => {
    const { io, stdin } = streams();
    const chosen = chooseOrganization(io, ORGS, 'the embedded emulator');
    stdin.write('9\n');
    stdin.end();
    const error = await chosen.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ExitError);
    expect((error as ExitError).exitCode).toBe(EXIT.usage);
    expect((error as ExitError).message).toContain('Name one with --org');
  });
});
