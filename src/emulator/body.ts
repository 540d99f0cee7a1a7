/** Request bodies: JSON, or a form with a `JSONString` field (Zoho accepts both). */
import { invalidValue } from './http-error.js';
import type { EmulatorRequest } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array, field: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidValue(field, 'the text is not valid UTF-8');
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when every string (keys included) in a parsed JSON value is well-formed Unicode. Iterative: no stack limit. */
function wellFormed(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return false;
    } else if (Array.isArray(item)) {
      for (const v of item) stack.push(v);
    } else if (typeof item === 'object' && item !== null) {
      for (const [k, v] of Object.entries(item)) {
        if (LONE_SURROGATE.test(k)) return false;
        stack.push(v);
      }
    }
  }
  return true;
}

function parseObject(text: string, field: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidValue(field, 'malformed JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidValue(field, 'expected a JSON object');
  if (!wellFormed(value)) throw invalidValue(field, 'a string holds a lone UTF-16 surrogate');
  return value as Record<string, unknown>;
}

/** The body as a JSON object; `{}` when there is none. Errors are Zoho code 2. */
export function parseJsonBody(req: EmulatorRequest): Record<string, unknown> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (req.body.length === 0) {
    const fromQuery = req.query.get('JSONString');
    return fromQuery ? parseObject(fromQuery, 'JSONString') : {};
  }
  const text = decodeUtf8(req.body, 'JSONString');
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
    if (type.startsWith('multipart/')) {
      const match = /name="JSONString"\r?\n\r?\n([\s\S]*?)\r?\n--/.exec(text);
      if (!match?.[1]) throw invalidValue('JSONString', 'it is required');
      return parseObject(match[1], 'JSONString');
    }
    const json = new URLSearchParams(text).get('JSONString');
    if (json === null) throw invalidValue('JSONString', 'it is required');
    return parseObject(json, 'JSONString');
  }
  return parseObject(text, 'JSONString');
}

/** Form or query parameters (the token endpoint takes either). */
export function formParams(req: EmulatorRequest): URLSearchParams {
  const params = new URLSearchParams(req.query);
  if (req.body.length > 0) {
    const text = decodeUtf8(req.body, 'body');
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('application/json')) {
      try {
        const obj = JSON.parse(text) as unknown;
        if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
          for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') params.set(k, v);
        }
      } catch {
        // an unreadable body adds no parameters
      }
    } else {
      for (const [k, v] of new URLSearchParams(text)) params.set(k, v);
    }
  }
  return params;
}
