import { zohoErrorRow, ZohoCode } from '../zoho/index.js';

/**
 * An error that renders itself as an HTTP answer. Each API the emulator serves throws its own kind
 * (Books: ZohoHttpError, in Zoho's envelope; the accounts server and the admin API: `{"error"}`
 * shapes of their own), and the pipeline's one error path (api.ts) renders whichever was thrown.
 */
export abstract class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string> | undefined;

  constructor(message: string, status: number, headers?: Record<string, string>) {
    super(message);
    this.status = status;
    this.headers = headers;
  }

  /** The answer's JSON body, in the shape of the API that threw it. */
  abstract body(): Record<string, unknown>;
}

/** A Books error in the Zoho envelope. Handlers throw it; the pipeline turns it into the HTTP response. */
export class ZohoHttpError extends HttpError {
  readonly code: number;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: number, options: { message?: string; status?: number; extra?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    const row = zohoErrorRow(code);
    super(options.message ?? row?.message ?? 'Internal error', options.status ?? row?.httpStatus ?? 500, options.headers);
    this.name = 'ZohoHttpError';
    this.code = code;
    this.extra = options.extra;
  }

  override body(): Record<string, unknown> {
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
