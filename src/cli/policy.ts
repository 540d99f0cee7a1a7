/** The policy a command works with: a file (--policy FILE), or the organization's policy kept in the journal. */
import { readFileSync } from 'node:fs';
import { parsePolicy, PolicyError, type Journal, type Policy } from '../engine/index.js';
import { EXIT, ExitError } from './exit-codes.js';
import { formatInstant } from './terminal.js';

export function loadPolicy(path: string | undefined): { policy: Policy; text: string; path: string } {
  if (!path) throw new ExitError('Give a policy with --policy FILE (`sunset policy init` writes one to start from).', EXIT.usage);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ExitError(code === 'ENOENT' ? `${path}: no such file. \`sunset policy init ${path}\` writes one.` : `${path}: cannot read it (${code ?? String(error)}).`, EXIT.usage);
  }
  try {
    return { policy: parsePolicy(text, path), text, path };
  } catch (error) {
    if (error instanceof PolicyError) throw new ExitError(`The policy is not usable; nothing was done.\n${error.message}`, EXIT.usage);
    throw error;
  }
}

/**
 * The policy a command works with. `--policy FILE` is read and becomes the organization's policy in
 * the journal (the one `sunset serve` shows and schedules use: a file is a way to edit it); without
 * it, the organization's stored policy is used. `organizationId` resolves the organization when no
 * file names it (undefined: only one organization has a policy).
 */
export async function policyFor(
  journal: Journal,
  values: { policy?: string; org?: string },
  actor: string,
): Promise<{ policy: Policy; text: string; source: string }> {
  if (values.policy) {
    const loaded = loadPolicy(values.policy);
    if (values.org !== undefined && values.org !== loaded.policy.organizationId) {
      throw new ExitError(`--org ${values.org} differs from the policy's organization ${loaded.policy.organizationId}; a policy is for one organization. Nothing was done.`, EXIT.usage);
    }
    const stored = await journal.policy(loaded.policy.organizationId);
    if (stored?.text !== loaded.text) {
      await journal.savePolicy({ organizationId: loaded.policy.organizationId, text: loaded.text, updatedAt: Date.now(), updatedBy: `${actor} (from ${values.policy})` });
    }
    return { policy: loaded.policy, text: loaded.text, source: values.policy };
  }
  let organizationId = values.org;
  if (organizationId === undefined) {
    const withPolicies = await journal.policyOrganizations();
    if (withPolicies.length === 1) organizationId = withPolicies[0]!;
    else {
      throw new ExitError(withPolicies.length === 0
        ? 'No policy yet: write one with `sunset policy init FILE` and give it with --policy FILE (it is then kept in the journal for the next commands and `sunset serve`).'
        : `Name the organization with --org (policies are kept for ${withPolicies.join(', ')}), or give a policy with --policy FILE.`, EXIT.usage);
    }
  }
  const stored = await journal.policy(organizationId);
  if (!stored) throw new ExitError(`Organization ${organizationId} has no policy yet: give one with --policy FILE (\`sunset policy init FILE --org ${organizationId}\` writes one to start from).`, EXIT.usage);
  try {
    return { policy: parsePolicy(stored.text, `the stored policy of ${organizationId}`), text: stored.text, source: `the policy of organization ${organizationId} (saved ${formatInstant(stored.updatedAt)} by ${stored.updatedBy})` };
  } catch (error) {
    if (error instanceof PolicyError) throw new ExitError(`The stored policy of organization ${organizationId} is not usable; nothing was done.\n${error.message}`, EXIT.usage);
    throw error;
  }
}
