/**
 * The CRM mapping file (`sunset serve --crm-mapping FILE`): which Zoho CRM values mean inactive and
 * which mean active in Books, for every organization or per organization, kept in a file under
 * version control instead of set in the UI. When the file gives an organization a mapping, that
 * mapping is the one its webhooks use and the UI shows it read-only.
 *
 *   inactive: [Churned, Lost, Closed Lost]     # every organization (both lists, or neither)
 *   active: [Active, Customer]
 *   organizations:                             # optional overrides
 *     "10234695": { inactive: [Churned], active: [Active] }
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { isOrganizationId } from '../zoho/index.js';
import type { WebhookMapping } from './store.js';

export interface MappingFile {
  /** The file's path, as given (shown in the UI and in errors). */
  path: string;
  /** The mapping for organizations the file does not name, if it has one. */
  default?: WebhookMapping;
  organizations: Record<string, WebhookMapping>;
}

export class MappingFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'MappingFileError';
  }
}

/** The mapping the file gives an organization, or undefined when the file leaves it to the UI. */
export function fileMappingFor(file: MappingFile | undefined, organizationId: string): WebhookMapping | undefined {
  if (!file) return undefined;
  return file.organizations[organizationId] ?? file.default;
}

export function parseMappingFile(text: string, path: string): MappingFile {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  const at = (node: YamlNode | null | undefined): string => {
    const offset = node?.range?.[0];
    if (offset === undefined) return path;
    const { line, col } = counter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  for (const e of doc.errors) {
    const { line, col } = counter.linePos(e.pos[0]);
    problems.push(`${path}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  if (problems.length > 0) throw new MappingFileError(problems);
  const root = doc.contents;
  if (!isMap(root)) throw new MappingFileError([`${at(root)}: the file must be a map with "inactive", "active" and/or "organizations"`]);

  const list = (node: unknown, where: string): string[] | undefined => {
    if (!isSeq(node)) {
      problems.push(`${at(node as YamlNode)}: ${where} must be a list of CRM values, like [Churned, Lost]`);
      return undefined;
    }
    const out: string[] = [];
    for (const item of node.items) {
      const value = isScalar(item) ? item.value : undefined;
      if ((typeof value !== 'string' && typeof value !== 'number') || String(value).trim() === '' || String(value).length > 200) {
        problems.push(`${at(item as YamlNode)}: ${where} holds a value that is not a CRM value (text up to 200 characters)`);
        continue;
      }
      out.push(String(value).trim());
    }
    if (out.length === 0 && node.items.length === 0) problems.push(`${at(node)}: ${where} is empty`);
    return out;
  };
  const mapping = (node: YamlNode | null | undefined, where: string, allowOrganizations: boolean): { mapping?: WebhookMapping; organizations?: YamlNode } => {
    if (!isMap(node)) {
      problems.push(`${at(node)}: ${where} must be a map with "inactive" and "active"`);
      return {};
    }
    let inactive: string[] | undefined;
    let active: string[] | undefined;
    let organizations: YamlNode | undefined;
    let inactiveNode: YamlNode | undefined;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (key === 'inactive') {
        inactive = list(pair.value, `${where === 'the file' ? '' : `${where}.`}inactive`);
        inactiveNode = pair.key as YamlNode;
      } else if (key === 'active') active = list(pair.value, `${where === 'the file' ? '' : `${where}.`}active`);
      else if (key === 'organizations' && allowOrganizations) organizations = pair.value as YamlNode;
      else problems.push(`${at(pair.key as YamlNode)}: unknown key "${key}" in ${where}; the keys are inactive, active${allowOrganizations ? ' and organizations' : ''}`);
    }
    if ((inactive === undefined) !== (active === undefined)) {
      problems.push(`${at(node)}: ${where} needs both "inactive" and "active" (a status in neither is recorded and left alone)`);
      return { ...(organizations ? { organizations } : {}) };
    }
    if (inactive && active) {
      const both = inactive.filter((v) => active.some((a) => a.toLowerCase() === v.toLowerCase()));
      if (both.length > 0) problems.push(`${at(inactiveNode)}: ${both.join(', ')} cannot mean both inactive and active`);
      return { mapping: { inactive, active }, ...(organizations ? { organizations } : {}) };
    }
    return { ...(organizations ? { organizations } : {}) };
  };

  const top = mapping(root, 'the file', true);
  const out: MappingFile = { path, organizations: {} };
  if (top.mapping) out.default = top.mapping;
  if (top.organizations !== undefined) {
    if (!isMap(top.organizations)) {
      problems.push(`${at(top.organizations)}: organizations must be a map of organization id to {inactive, active}`);
    } else {
      for (const pair of top.organizations.items) {
        const id = isScalar(pair.key) ? String(pair.key.value) : '';
        if (!isOrganizationId(id)) {
          problems.push(`${at(pair.key as YamlNode)}: "${id}" is not an organization id (digits; quote it: "10234695")`);
          continue;
        }
        if (isScalar(pair.key) && typeof pair.key.value === 'number' && !Number.isSafeInteger(pair.key.value)) {
          problems.push(`${at(pair.key as YamlNode)}: quote the organization id ("${id}"): as a number it loses digits`);
          continue;
        }
        const m = mapping(pair.value as YamlNode, `organizations.${id}`, false);
        if (m.mapping) out.organizations[id] = m.mapping;
        else if (problems.length === 0) problems.push(`${at(pair.value as YamlNode)}: organizations.${id} needs "inactive" and "active"`);
      }
    }
  }
  if (problems.length === 0 && !out.default && Object.keys(out.organizations).length === 0) {
    problems.push(`${path}: the file maps nothing: give "inactive" and "active", or "organizations"`);
  }
  if (problems.length > 0) throw new MappingFileError(problems);
  return out;
}
