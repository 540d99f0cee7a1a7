/**
 * Contract test: the emulator's real HTTP responses, validated against Zoho's own OpenAPI 3.0
 * files (../shared/zoho-books-oas/, read at test time and never copied into the project).
 *
 * Each check calls the running emulator, looks the operation up by its operationId in Zoho's file
 * (asserting its method and path are the ones called), takes the response schema for the status
 * the emulator answered with (an undeclared status fails), inlines `#/components/schemas/...`
 * refs, applies the named relaxations below and validates with ajv. Zoho's response schemas
 * declare no `required` fields and allow additional properties, so a schema alone would accept
 * `{}`; every check therefore also asserts that the schema declares the record key and the record's
 * id field the emulator sends, so the record really is validated field by field (every property
 * the emulator sends that the schema declares must have the declared type).
 *
 * Where the folder is absent the whole suite is skipped with a message, never failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestEmulator, type CallResult, type TestEmulator } from '../helpers/emulator.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OAS_DIR = path.resolve(repoRoot, '../shared/zoho-books-oas');
const OAS_PRESENT = existsSync(OAS_DIR);
if (!OAS_PRESENT) {
  console.warn(`[contract] Zoho's OpenAPI files were not found at ${OAS_DIR}: skipping the OpenAPI contract suite.`);
}

// ---------------------------------------------------------------------------------------------
// Relaxations: the only places where the emulator is held to less than Zoho's files say. Each is
// named, and the test prints where each one was applied. Nothing else is relaxed; in particular
// ids stay `type: string` (README quirk 1: the files' id *examples* are bare numbers, their schema
// type and the live service use strings, and so must the emulator).
// ---------------------------------------------------------------------------------------------

/**
 * R1 money-as-number: some money fields are typed `integer` in the OAS (README quirk 2) and a few
 * `string` (`total` and `balance` of `create-an-invoice-response`), while the live service sends
 * JSON numbers with decimals (reference §1 "Money: JSON numbers with decimals"). Only properties
 * whose name is a money amount are retyped to `number`; counts, indexes, `page`, `per_page`,
 * `payment_terms`, `price_precision`, `payment_number` and the like keep their declared type.
 */
const MONEY_FIELD = /(^|_)(amount|total|balance|rate|payment_made|credits_applied)(_bcy)?$/;

/**
 * R2 oas30-annotations: `example` and `x-*` keys are OAS annotations that are not JSON Schema
 * keywords; they are stripped so ajv can run in strict mode. `nullable: true` (OAS 3.0) becomes a
 * `'null'` alternative in `type` (the files in use have none, but the conversion is here).
 * Formats: `date` is checked (`yyyy-mm-dd`); `int32`, `int64`, `float`, `double` and `binary` are
 * annotations here (the `type` keyword already checks the JSON type).
 */
const STRIPPED_KEY = (key: string): boolean => key === 'example' || key === 'examples' || key.startsWith('x-');

/**
 * R3 page-context-optional (README quirk 3): some list schemas omit `page_context`. Nothing is
 * relaxed for it (additional properties are allowed), but the emulator must still send it on every
 * list, which `expectPageContext` checks against reference §3.
 *
 * R4 vendor-payment-create-envelope: the OAS `create-a-vendor-payment-response` puts the payment's
 * fields at the top level next to `code` and `message`; Zoho's published examples and every other
 * create response wrap the record (`vendorpayment`). Decision: the emulator wraps it, and the test
 * validates the envelope against `{code, message}` and the `vendorpayment` record against the
 * OAS's top-level properties (minus code and message), so every field is still type-checked.
 *
 * R5 customer-payments-list-key (not among the README's quirks; reported): the OAS
 * `list-customer-payments-response` names the array `customer_payments`; Zoho's resource name,
 * scope and published clients use `customerpayments`, which the emulator sends. The emulator's
 * `customerpayments` items are validated against the OAS `customer_payments` item schema.
 *
 * R6 container-shape (not among the README's quirks; reported): a few response schemas declare an
 * array where the wire carries one object, or the reverse. Each slip is listed below with the
 * authority for the shape the emulator must send; the schema of the element is kept and checked
 * field by field. A fix that no longer matches the file fails the test (stale relaxation).
 */
interface ShapeFix {
  file: string;
  operationId: string;
  /** Property path from the response's root to the container. */
  at: string[];
  /** `array-to-object`: validate against the items schema; `object-to-array`: an array of the object. */
  change: 'array-to-object' | 'object-to-array';
  why: string;
}
const SHAPE_FIXES: readonly ShapeFix[] = [
  { file: 'invoices.yml', operationId: 'list_invoices', at: ['page_context'], change: 'array-to-object', why: 'reference §3: page_context is an object' },
  { file: 'estimates.yml', operationId: 'list_estimates', at: ['page_context'], change: 'array-to-object', why: 'reference §3: page_context is an object' },
  { file: 'sales-order.yml', operationId: 'create_sales_order', at: ['salesorder'], change: 'array-to-object', why: 'reference §1: a singular key holds one record' },
  { file: 'credit-notes.yml', operationId: 'list_credit_notes', at: ['creditnotes'], change: 'object-to-array', why: 'reference §1: a plural key holds the list' },
  {
    file: 'vendor-credits.yml', operationId: 'create_vendor_credit', at: ['vendor_credit', 'line_items'], change: 'object-to-array',
    why: "the same file's line_items component (used by the create request) is an array of line items",
  },
];

function applyShapeFixes(file: string, operationId: string, schema: SchemaNode): void {
  for (const fix of SHAPE_FIXES) {
    if (fix.file !== file || fix.operationId !== operationId) continue;
    let parent = schema;
    for (const key of fix.at.slice(0, -1)) parent = propertiesOf(parent)[key] as SchemaNode;
    const props = propertiesOf(parent);
    const last = fix.at[fix.at.length - 1] as string;
    const node = props[last] as SchemaNode | undefined;
    const expected = fix.change === 'array-to-object' ? 'array' : 'object';
    if (!node || node.type !== expected) {
      throw new Error(`stale relaxation R6 ${file} ${operationId} ${fix.at.join('.')}: expected the OAS to declare ${expected}, found ${String(node?.type)}`);
    }
    props[last] = fix.change === 'array-to-object' ? (node.items as SchemaNode) : { type: 'array', items: node };
    noteRelaxation('R6 container-shape', `${file} ${operationId} ${fix.at.join('.')} ${fix.change} (${fix.why})`);
  }
}

const relaxationUses = new Map<string, Set<string>>();
function noteRelaxation(name: string, where: string): void {
  const set = relaxationUses.get(name) ?? new Set<string>();
  set.add(where);
  relaxationUses.set(name, set);
}

type SchemaNode = Record<string, unknown>;

interface OasFile {
  doc: SchemaNode;
  schemas: Record<string, SchemaNode>;
}

const files = new Map<string, OasFile>();
function oasFile(name: string): OasFile {
  let file = files.get(name);
  if (!file) {
    const doc = parseYaml(readFileSync(path.join(OAS_DIR, name), 'utf8')) as SchemaNode;
    const components = (doc.components ?? {}) as { schemas?: Record<string, SchemaNode> };
    file = { doc, schemas: components.schemas ?? {} };
    files.set(name, file);
  }
  return file;
}

const isObject = (v: unknown): v is SchemaNode => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Inlines `#/components/schemas/...` refs of one file and applies R1 and R2. */
function prepare(file: string, node: unknown, stack: string[] = []): unknown {
  if (Array.isArray(node)) return node.map((n) => prepare(file, n, stack));
  if (!isObject(node)) return node;
  if (typeof node.$ref === 'string') {
    const match = /^#\/components\/schemas\/(.+)$/.exec(node.$ref);
    if (!match) throw new Error(`${file}: unsupported $ref ${node.$ref}`);
    const name = decodeURIComponent(match[1] as string);
    const target = oasFile(file).schemas[name];
    if (!target) throw new Error(`${file}: dangling $ref ${node.$ref}`);
    if (stack.includes(name)) throw new Error(`${file}: recursive schema ${name}; the inliner does not support cycles`);
    return prepare(file, target, [...stack, name]);
  }
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (STRIPPED_KEY(key)) continue;
    if (key === 'properties' && isObject(value)) {
      const props: SchemaNode = {};
      for (const [prop, sub] of Object.entries(value)) {
        const prepared = prepare(file, sub, stack) as SchemaNode;
        if (MONEY_FIELD.test(prop) && (prepared.type === 'integer' || prepared.type === 'string')) {
          noteRelaxation('R1 money-as-number', `${file} ${prop} (${prepared.type})`);
          prepared.type = 'number';
        }
        props[prop] = prepared;
      }
      out.properties = props;
    } else if (key === 'nullable') {
      continue;
    } else {
      out[key] = prepare(file, value, stack);
    }
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: true, strictRequired: true });
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
for (const annotation of ['int32', 'int64', 'float', 'double']) ajv.addFormat(annotation, { type: 'number', validate: () => true });
ajv.addFormat('binary', { type: 'string', validate: () => true });

interface Operation {
  method: string;
  path: string;
  operation: SchemaNode;
}

function findOperation(file: string, operationId: string): Operation {
  const paths = (oasFile(file).doc.paths ?? {}) as Record<string, Record<string, unknown>>;
  const found: Operation[] = [];
  for (const [p, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (isObject(op) && op.operationId === operationId) found.push({ method: method.toUpperCase(), path: p, operation: op });
    }
  }
  if (found.length !== 1) throw new Error(`${file}: ${found.length} operations with operationId ${operationId}`);
  return found[0] as Operation;
}

/** The prepared response schema of an operation for one status, or undefined when the status is not declared. */
function responseSchema(file: string, operationId: string, status: number): SchemaNode | undefined {
  const { operation } = findOperation(file, operationId);
  const responses = (operation.responses ?? {}) as Record<string, SchemaNode>;
  const response = responses[String(status)];
  if (!response) return undefined;
  const content = (response.content ?? {}) as Record<string, { schema?: unknown }>;
  const schema = content['application/json']?.schema;
  if (schema === undefined) return undefined;
  const prepared = prepare(file, schema) as SchemaNode;
  applyShapeFixes(file, operationId, prepared);
  return prepared;
}

const compiled = new Map<string, ValidateFunction>();
function compile(key: string, schema: SchemaNode): ValidateFunction {
  let fn = compiled.get(key);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(key, fn);
  }
  return fn;
}

/** Readable ajv errors (at most 15, deduplicated by path pattern, with the offending value). */
function describeErrors(errors: ErrorObject[] | null | undefined, data: unknown): string[] {
  const seen = new Set<string>();
  const unique = (errors ?? []).filter((e) => {
    const pattern = `${e.instancePath.replace(/\/\d+(\/|$)/g, '/*$1')} ${e.message ?? ''}`;
    if (seen.has(pattern)) return false;
    seen.add(pattern);
    return true;
  });
  const lines = unique.slice(0, 15).map((e) => {
    let value: unknown = data;
    for (const part of e.instancePath.split('/').slice(1)) value = isObject(value) || Array.isArray(value) ? (value as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    return `${e.instancePath || '(root)'} ${e.message ?? e.keyword} (got ${JSON.stringify(value)?.slice(0, 80)})`;
  });
  if (unique.length > 15) lines.push(`... and ${unique.length - 15} more`);
  return lines;
}

const undeclared = new Map<string, Set<string>>();

function propertiesOf(schema: SchemaNode | undefined): SchemaNode {
  return (schema && isObject(schema.properties) ? schema.properties : {}) as SchemaNode;
}

interface Expectation {
  file: string;
  operationId: string;
  /** The method and OAS path template the operation must have (the one the test called). */
  method: string;
  path: string;
  /** The record key the emulator answers with (`contact`, `contacts`, ...); absent for bare envelopes. */
  recordKey?: string;
  /** The record's own id field, which the schema must declare (non-vacuity). */
  idField?: string;
  /** R5: the OAS's name for the record key when it differs from the emulator's. */
  oasRecordKey?: string;
  /** R4: the OAS declares the record's fields at the top level of the envelope. */
  recordAtTopLevel?: boolean;
}

/** Validates a real emulator response against the operation's response schema for its status. */
function expectConforms(res: CallResult, x: Expectation): void {
  const op = findOperation(x.file, x.operationId);
  expect({ method: op.method, path: op.path }, `${x.operationId} is the operation called`).toEqual({ method: x.method, path: x.path });
  const schema = responseSchema(x.file, x.operationId, res.status);
  expect(schema, `${x.operationId} declares a JSON response for HTTP ${res.status} (body ${JSON.stringify(res.body).slice(0, 200)})`).toBeDefined();
  if (!schema) return;
  const body = res.body as Record<string, unknown>;
  expect(isObject(body), 'the body is a JSON object').toBe(true);
  expect(body.code, 'success code').toBe(0);
  expect(typeof body.message).toBe('string');

  let envelopeSchema: SchemaNode = schema;
  let recordSchema: SchemaNode | undefined;
  let oasKey = x.recordKey;
  if (x.recordAtTopLevel) {
    // R4: envelope = {code, message}; the record = the other top-level properties.
    const { code, message, ...fields } = propertiesOf(schema);
    envelopeSchema = { ...schema, properties: { code, message } };
    recordSchema = { type: 'object', properties: fields };
    noteRelaxation('R4 vendor-payment-create-envelope', `${x.file} ${x.operationId}`);
  } else if (x.recordKey) {
    if (x.oasRecordKey) {
      oasKey = x.oasRecordKey;
      noteRelaxation('R5 customer-payments-list-key', `${x.file} ${x.operationId}: ${x.oasRecordKey} -> ${x.recordKey}`);
    }
    recordSchema = propertiesOf(schema)[oasKey as string] as SchemaNode | undefined;
  }

  if (oasKey && !x.recordAtTopLevel) {
    // The record is validated on its own below; the envelope check covers the other keys.
    const { [oasKey]: _record, ...rest } = propertiesOf(schema);
    envelopeSchema = { ...schema, properties: rest };
  }
  const envelope = compile(`${x.file}#${x.operationId}#${res.status}#envelope`, envelopeSchema);
  const { [x.recordKey ?? '']: _sent, ...envelopeData } = body;
  if (!envelope(envelopeData)) {
    expect.fail(`${x.operationId}: envelope does not match the OAS:\n${describeErrors(envelope.errors, envelopeData).join('\n')}`);
  }
  if (!x.recordKey) return;

  expect(recordSchema, `${x.operationId}: the OAS declares the record key ${oasKey}`).toBeDefined();
  if (!recordSchema) return;
  const record = body[x.recordKey];
  expect(record, `the emulator sends ${x.recordKey}`).toBeDefined();
  const validate = compile(`${x.file}#${x.operationId}#${res.status}#record`, recordSchema);
  if (!validate(record)) {
    expect.fail(`${x.operationId}: ${x.recordKey} does not match the OAS:\n${describeErrors(validate.errors, record).join('\n')}`);
  }

  // Non-vacuity: the record's schema declares the id field, and the emulator's records carry it.
  const itemSchema = recordSchema.type === 'array' ? (recordSchema.items as SchemaNode | undefined) : recordSchema;
  const declared = propertiesOf(itemSchema);
  const items = (Array.isArray(record) ? record : [record]) as Array<Record<string, unknown>>;
  expect(items.length, `${x.recordKey} is not empty`).toBeGreaterThan(0);
  if (x.idField) {
    expect(Object.keys(declared), `${x.operationId} declares ${x.idField}`).toContain(x.idField);
    for (const item of items) expect(typeof item[x.idField], `the emulator's ${x.recordKey} carries ${x.idField} as a string (keys: ${Object.keys(item).join(', ')})`).toBe('string');
  }
  for (const item of items) {
    for (const key of Object.keys(item)) {
      if (!(key in declared)) {
        const set = undeclared.get(x.operationId) ?? new Set<string>();
        set.add(key);
        undeclared.set(x.operationId, set);
      }
    }
  }
}

/** Reference §3: every list carries page_context with page, per_page and has_more_page. */
function expectPageContext(res: CallResult): void {
  const pc = (res.body as { page_context?: Record<string, unknown> }).page_context;
  expect(pc, 'page_context').toBeDefined();
  expect(typeof pc?.page).toBe('number');
  expect(typeof pc?.per_page).toBe('number');
  expect(typeof pc?.has_more_page).toBe('boolean');
}

// ---------------------------------------------------------------------------------------------

interface TxCase {
  label: string;
  file: string;
  path: string;
  listOp: string;
  createOp: string;
  listKey: string;
  singleKey: string;
  idField: string;
  party: 'customer' | 'vendor';
  /** Builds the create body; `settle` is a document of the settled type to apply a payment to. */
  body: (contactId: string, settle?: string) => Record<string, unknown>;
  /** For payments: the document type to create first and apply the payment to. */
  settles?: { path: string; singleKey: string; idField: string; listKey: string };
  oasListKey?: string;
  recordAtTopLevel?: boolean;
}

const lineItems = [
  { name: 'Consulting', rate: 120.5, quantity: 2 },
  { name: 'Travel', rate: 35.25, quantity: 1 },
];
const INVOICE = { path: '/invoices', singleKey: 'invoice', idField: 'invoice_id', listKey: 'invoices' };
const BILL = { path: '/bills', singleKey: 'bill', idField: 'bill_id', listKey: 'bills' };

const TX_CASES: TxCase[] = [
  {
    label: 'invoices', file: 'invoices.yml', path: '/invoices', listOp: 'list_invoices', createOp: 'create_invoice',
    listKey: 'invoices', singleKey: 'invoice', idField: 'invoice_id', party: 'customer',
    body: (id) => ({ customer_id: id, line_items: lineItems }),
  },
  {
    label: 'sales orders', file: 'sales-order.yml', path: '/salesorders', listOp: 'list_sales_orders', createOp: 'create_sales_order',
    listKey: 'salesorders', singleKey: 'salesorder', idField: 'salesorder_id', party: 'customer',
    body: (id) => ({ customer_id: id, line_items: lineItems }),
  },
  {
    label: 'estimates', file: 'estimates.yml', path: '/estimates', listOp: 'list_estimates', createOp: 'create_estimate',
    listKey: 'estimates', singleKey: 'estimate', idField: 'estimate_id', party: 'customer',
    body: (id) => ({ customer_id: id, line_items: lineItems }),
  },
  {
    label: 'credit notes', file: 'credit-notes.yml', path: '/creditnotes', listOp: 'list_credit_notes', createOp: 'create_credit_note',
    listKey: 'creditnotes', singleKey: 'creditnote', idField: 'creditnote_id', party: 'customer',
    body: (id) => ({ customer_id: id, line_items: lineItems }),
  },
  {
    label: 'customer payments', file: 'customer-payments.yml', path: '/customerpayments', listOp: 'list_customer_payments',
    createOp: 'create_customer_payment', listKey: 'customerpayments', singleKey: 'payment', idField: 'payment_id', party: 'customer',
    settles: INVOICE, oasListKey: 'customer_payments',
    body: (id, invoiceId) => ({ customer_id: id, amount: 150.75, invoices: [{ invoice_id: invoiceId, amount_applied: 100.5 }] }),
  },
  {
    label: 'sales receipts', file: 'sales-receipt.yml', path: '/salesreceipts', listOp: 'list_sales_receipts', createOp: 'create_sales_receipt',
    listKey: 'salesreceipts', singleKey: 'salesreceipt', idField: 'sales_receipt_id', party: 'customer',
    body: (id) => ({ customer_id: id, line_items: lineItems }),
  },
  {
    label: 'bills', file: 'bills.yml', path: '/bills', listOp: 'list_bills', createOp: 'create_bill',
    listKey: 'bills', singleKey: 'bill', idField: 'bill_id', party: 'vendor',
    body: (id) => ({ vendor_id: id, bill_number: 'CT-BILL-1', line_items: lineItems }),
  },
  {
    label: 'vendor payments', file: 'vendor-payments.yml', path: '/vendorpayments', listOp: 'list_vendor_payments',
    createOp: 'create_vendor_payment', listKey: 'vendorpayments', singleKey: 'vendorpayment', idField: 'payment_id', party: 'vendor',
    settles: BILL, recordAtTopLevel: true,
    body: (id, billId) => ({ vendor_id: id, amount: 80.4, bills: [{ bill_id: billId, amount_applied: 60.2 }] }),
  },
  {
    label: 'vendor credits', file: 'vendor-credits.yml', path: '/vendorcredits', listOp: 'list_vendor_credits', createOp: 'create_vendor_credit',
    listKey: 'vendorcredits', singleKey: 'vendor_credit', idField: 'vendor_credit_id', party: 'vendor',
    body: (id) => ({ vendor_id: id, line_items: lineItems }),
  },
];

describe.skipIf(!OAS_PRESENT)("emulator responses match Zoho's OpenAPI schemas", () => {
  let t: TestEmulator;
  const contactIds: Record<'customer' | 'vendor', string> = { customer: '', vendor: '' };

  beforeAll(async () => {
    t = await startTestEmulator();
    for (const type of ['customer', 'vendor'] as const) {
      const res = await t.call<{ contacts: Array<{ contact_id: string }> }>('GET', '/contacts', {
        query: { contact_type: type, filter_by: 'Status.Active', per_page: 1 },
      });
      const first = res.body.contacts[0];
      if (!first) throw new Error(`the demo seed has no active ${type}`);
      contactIds[type] = first.contact_id;
    }
  });

  afterAll(async () => {
    await t?.close();
    if (relaxationUses.size > 0) {
      console.log(`[contract] relaxations applied:\n${[...relaxationUses].map(([k, v]) => `  ${k}: ${[...v].sort().join('; ')}`).join('\n')}`);
    }
    if (undeclared.size > 0) {
      console.log(`[contract] fields the emulator sends that the OAS does not declare (allowed):\n${[...undeclared].map(([k, v]) => `  ${k}: ${[...v].sort().join(', ')}`).join('\n')}`);
    }
  });

  it('list_organizations: GET /organizations', async () => {
    const res = await t.call('GET', '/organizations', { organization: null });
    expect(res.status).toBe(200);
    expectConforms(res, {
      file: 'organizations.yml', operationId: 'list_organizations', method: 'GET', path: '/organizations',
      recordKey: 'organizations', idField: 'organization_id',
    });
  });

  it('update_organization: PUT /organizations/{organization_id}', async () => {
    const organization = t.organizations[0]!;
    const listed = await t.call<{ organizations: Array<{ organization_id: string; time_zone: string }> }>('GET', '/organizations', { organization: null });
    const zone = listed.body.organizations.find((o) => o.organization_id === organization)!.time_zone;
    // The same zone again: the check changes nothing the other checks read.
    const res = await t.call('PUT', `/organizations/${organization}`, { organization: null, body: { time_zone: zone } });
    expect(res.status).toBe(200);
    expectConforms(res, {
      file: 'organizations.yml', operationId: 'update_organization', method: 'PUT', path: '/organizations/{organization_id}',
      recordKey: 'organization', idField: 'organization_id',
    });
  });

  describe('contacts', () => {
    it('list_contacts: GET /contacts', async () => {
      const res = await t.call('GET', '/contacts', { query: { per_page: 200, filter_by: 'Status.All' } });
      expect(res.status).toBe(200);
      expectConforms(res, { file: 'contacts.yml', operationId: 'list_contacts', method: 'GET', path: '/contacts', recordKey: 'contacts', idField: 'contact_id' });
      expectPageContext(res);
    });

    it('get_contact: GET /contacts/{contact_id}', async () => {
      const res = await t.call('GET', `/contacts/${contactIds.customer}`);
      expect(res.status).toBe(200);
      expectConforms(res, { file: 'contacts.yml', operationId: 'get_contact', method: 'GET', path: '/contacts/{contact_id}', recordKey: 'contact', idField: 'contact_id' });
    });

    it('get_contact: GET /contacts/{contact_id} for a vendor with custom fields and tags', async () => {
      const res = await t.call<{ contacts: Array<{ contact_id: string; tags: unknown[] }> }>('GET', '/contacts', {
        query: { contact_type: 'vendor', per_page: 200 },
      });
      const tagged = res.body.contacts.find((c) => c.tags.length > 0) ?? res.body.contacts[0];
      expect(tagged).toBeDefined();
      const one = await t.call('GET', `/contacts/${tagged?.contact_id}`);
      expect(one.status).toBe(200);
      expectConforms(one, { file: 'contacts.yml', operationId: 'get_contact', method: 'GET', path: '/contacts/{contact_id}', recordKey: 'contact', idField: 'contact_id' });
    });

    it('create_contact (201), update_contact, list_contact_comments, mark_contact_inactive, mark_contact_active, delete_contact', async () => {
      const created = await t.call<{ contact: { contact_id: string } }>('POST', '/contacts', {
        body: {
          contact_name: 'Contract Test Ltd',
          company_name: 'Contract Test Ltd',
          contact_type: 'customer',
          email: 'ap@contract-test.example',
          credit_limit: 1250.5,
          custom_fields: [{ api_name: 'cf_region', value: 'North' }],
          tags: [{ tag_id: '460000000000567', tag_option_id: '460000000014044' }],
        },
      });
      expect(created.status).toBe(201);
      expectConforms(created, { file: 'contacts.yml', operationId: 'create_contact', method: 'POST', path: '/contacts', recordKey: 'contact', idField: 'contact_id' });
      const id = created.body.contact.contact_id;

      const updated = await t.call('PUT', `/contacts/${id}`, { body: { phone: '+91 80 1234 5678', notes: 'checked by the contract test' } });
      expect(updated.status).toBe(200);
      expectConforms(updated, { file: 'contacts.yml', operationId: 'update_contact', method: 'PUT', path: '/contacts/{contact_id}', recordKey: 'contact', idField: 'contact_id' });

      const inactive = await t.call('POST', `/contacts/${id}/inactive`);
      expect(inactive.status).toBe(200);
      expectConforms(inactive, { file: 'contacts.yml', operationId: 'mark_contact_inactive', method: 'POST', path: '/contacts/{contact_id}/inactive' });

      const active = await t.call('POST', `/contacts/${id}/active`);
      expect(active.status).toBe(200);
      expectConforms(active, { file: 'contacts.yml', operationId: 'mark_contact_active', method: 'POST', path: '/contacts/{contact_id}/active' });

      const comments = await t.call('GET', `/contacts/${id}/comments`);
      expect(comments.status).toBe(200);
      expectConforms(comments, {
        file: 'contacts.yml', operationId: 'list_contact_comments', method: 'GET', path: '/contacts/{contact_id}/comments',
        recordKey: 'contact_comments', idField: 'comment_id',
      });
      expectPageContext(comments);

      const deleted = await t.call('DELETE', `/contacts/${id}`);
      expect(deleted.status).toBe(200);
      expectConforms(deleted, { file: 'contacts.yml', operationId: 'delete_contact', method: 'DELETE', path: '/contacts/{contact_id}' });
    });

    it('list_contact_comments: GET /contacts/{contact_id}/comments on a seeded contact with transactions', async () => {
      const res = await t.call('GET', `/contacts/${contactIds.customer}/comments`);
      expect(res.status).toBe(200);
      expectConforms(res, {
        file: 'contacts.yml', operationId: 'list_contact_comments', method: 'GET', path: '/contacts/{contact_id}/comments',
        recordKey: 'contact_comments', idField: 'comment_id',
      });
    });
  });

  describe('transactions', () => {
    for (const c of TX_CASES) {
      it(`${c.listOp}: GET ${c.path}`, async () => {
        const res = await t.call('GET', c.path, { query: { per_page: 200 } });
        expect(res.status).toBe(200);
        expectConforms(res, {
          file: c.file, operationId: c.listOp, method: 'GET', path: c.path,
          recordKey: c.listKey, idField: c.idField, oasRecordKey: c.oasListKey,
        });
        expectPageContext(res);
      });

      it(`${c.createOp}: POST ${c.path} (201)`, async () => {
        const contactId = contactIds[c.party];
        let settleId: string | undefined;
        if (c.settles) {
          const doc = await t.call<Record<string, Record<string, string>>>('POST', c.settles.path, {
            body: { [c.party === 'customer' ? 'customer_id' : 'vendor_id']: contactId, line_items: lineItems },
          });
          expect(doc.status).toBe(201);
          settleId = doc.body[c.settles.singleKey]?.[c.settles.idField];
          expect(typeof settleId).toBe('string');
        }
        const res = await t.call('POST', c.path, { body: c.body(contactId, settleId) });
        expect(res.status).toBe(201);
        expectConforms(res, {
          file: c.file, operationId: c.createOp, method: 'POST', path: c.path,
          recordKey: c.singleKey, idField: c.idField, recordAtTopLevel: c.recordAtTopLevel,
        });
      });
    }

    // Purchase orders: Zoho's bundle subset in ../shared/zoho-books-oas has no purchase-orders
    // file, so the emulator's /purchaseorders has nothing to be checked against.
    it.skip('list_purchase_orders / create_purchase_order: skipped, no OpenAPI file for purchase orders', () => undefined);
  });
});
