/** Reading and validating query parameters and body fields; every failure is a Zoho 400 code 2. */
import { isZohoId, isZohoDate, MAX_PER_PAGE, parseZohoTime } from '../zoho/index.js';
import { invalidValue } from './http-error.js';

export interface Paging {
  page: number;
  perPage: number;
  offset: number;
}

function positiveInt(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^[0-9]{1,9}$/.test(raw) || Number(raw) < 1) throw invalidValue(name);
  return Number(raw);
}

/** `page` (from 1) and `per_page` (default 200 here, capped at 200 like the live service). */
export function paging(query: URLSearchParams, defaultPerPage = MAX_PER_PAGE): Paging {
  const page = positiveInt(query, 'page', 1);
  const perPage = Math.min(positiveInt(query, 'per_page', defaultPerPage), MAX_PER_PAGE);
  return { page, perPage, offset: (page - 1) * perPage };
}

export function sortOrder(query: URLSearchParams, fallback: 'A' | 'D'): 'A' | 'D' {
  const raw = query.get('sort_order');
  if (raw === null || raw === '') return fallback;
  if (raw === 'A' || raw === 'D') return raw;
  throw invalidValue('sort_order');
}

/** An id in a path or parameter: 15–19 digits, or a code-2 error naming the field. */
export function zohoId(value: string | null | undefined, field: string): string {
  if (!isZohoId(value)) throw invalidValue(field);
  return value;
}

export function optionalId(query: URLSearchParams, name: string): string | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  return zohoId(raw, name);
}

export function optionalDate(query: URLSearchParams, name: string): string | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!isZohoDate(raw)) throw invalidValue(name);
  return raw;
}

/** `last_modified_time` style parameters: a timestamp or date; read in the org's offset when it has none. */
export function optionalTime(query: URLSearchParams, name: string, offsetMinutes: number): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const ms = parseZohoTime(raw, offsetMinutes);
  if (ms === undefined) throw invalidValue(name);
  return ms;
}

export function optionalText(query: URLSearchParams, name: string, max = 100): string | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw.length > max) throw invalidValue(name, `longer than ${max} characters`);
  return raw;
}

// ---- body fields ----

export function bodyString(body: Record<string, unknown>, key: string, max: number): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidValue(key);
  if (value.length > max) throw invalidValue(key, `longer than ${max} characters`);
  return value;
}

export function bodyNumber(body: Record<string, unknown>, key: string, options: { min?: number; max?: number } = {}): number | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw invalidValue(key);
  if (options.min !== undefined && n < options.min) throw invalidValue(key);
  if (options.max !== undefined && n > options.max) throw invalidValue(key);
  return n;
}

export function bodyBoolean(body: Record<string, unknown>, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidValue(key);
}

export function bodyDate(body: Record<string, unknown>, key: string): string | undefined {
  const value = bodyString(body, key, 10);
  if (value === undefined || value === '') return undefined;
  if (!isZohoDate(value)) throw invalidValue(key);
  return value;
}

export function bodyId(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalidValue(key, 'ids are strings');
  return zohoId(value, key);
}

/** Money as integer cents; at most two decimals, at most 1e12. */
export function toCents(value: number, key: string): number {
  if (!Number.isFinite(value) || Math.abs(value) > 1e12) throw invalidValue(key);
  return Math.round(value * 100);
}
