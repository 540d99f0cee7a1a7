import { zohoErrorRow, ZohoCode } from '../zoho/index.js';

/**
 * An error that renders itself in the Zoho envelope. Handlers throw it; the pipeline's single
 * error handler turns it into the HTTP response.
 */
export class ZohoHttpError extends Error {
  readonly code: number;
  readonly status: number;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: number, options: { message?: string; status?: number; extra?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    const row = zohoErrorRow(code);
    super(options.message ?? row?.message ?? 'Internal error');
    this.name = 'ZohoHttpError';
    this.code = code;
    this.status = options.status ?? row?.httpStatus ?? 500;
    this.extra = options.extra;
    this.headers = options.headers;
  }

  body(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.extra };
  }
}

/** `400 code 2: Invalid value passed for <field>`. */
export function invalidValue(field: string, detail?: string): ZohoHttpError {
  return new ZohoHttpError(ZohoCode.INVALID_VALUE, {
    message: `Invalid value passed for ${field}${detail ? `: ${detail}` : ''}`,
  });
}

/** `404 code 1002: <Record> does not exist.` */
export function notFound(what: string): ZohoHttpError {
  return new ZohoHttpError(ZohoCode.NOT_FOUND, { message: `${what} does not exist.` });
}
