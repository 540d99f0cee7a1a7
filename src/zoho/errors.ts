/**
 * The Zoho Books error-code table (reference §5 and §9), as data.
 *
 * One row per Zoho `code`: the HTTP status the service answers with, a stable `kind` that both the
 * emulator (to render errors) and the client (to classify them) key on, whether a caller may retry,
 * and the message the emulator writes. Pure data: no I/O.
 */

export type ZohoErrorKind =
  | 'invalid_value'
  | 'unauthenticated'
  | 'unauthorized'
  | 'invalid_url'
  | 'not_found'
  | 'method_not_allowed'
  | 'already_active'
  | 'already_inactive'
  | 'invalid_organization'
  | 'has_transactions'
  | 'contact_inactive'
  | 'duplicate_name'
  | 'rate_limited'
  | 'quota_exhausted'
  | 'too_many_in_flight'
  | 'internal';

export interface ZohoErrorRow {
  /** Zoho's numeric `code` in the JSON envelope. */
  readonly code: number;
  /** The HTTP status Zoho answers with. */
  readonly httpStatus: number;
  readonly kind: ZohoErrorKind;
  /** True when the same request may succeed later without change. */
  readonly retryable: boolean;
  /** The message the emulator writes (the live service's wording where known). */
  readonly message: string;
  /** Where the row comes from: the published API, the product spec, or a code the emulator chose. */
  readonly source: 'zoho' | 'product-spec' | 'emulator';
}

export const ZOHO_ERRORS: readonly ZohoErrorRow[] = [
  { code: 2, httpStatus: 400, kind: 'invalid_value', retryable: false, message: 'Invalid value passed for contact_id', source: 'product-spec' },
  { code: 14, httpStatus: 401, kind: 'unauthenticated', retryable: false, message: 'The request could not be authenticated.', source: 'zoho' },
  { code: 57, httpStatus: 401, kind: 'unauthorized', retryable: false, message: 'You are not authorized to perform this operation', source: 'zoho' },
  { code: 5, httpStatus: 404, kind: 'invalid_url', retryable: false, message: 'Invalid URL Passed', source: 'zoho' },
  { code: 1002, httpStatus: 404, kind: 'not_found', retryable: false, message: 'Contact does not exist.', source: 'zoho' },
  { code: 37, httpStatus: 405, kind: 'method_not_allowed', retryable: false, message: 'The HTTP method is not allowed for the requested resource', source: 'emulator' },
  { code: 3031, httpStatus: 400, kind: 'already_active', retryable: false, message: 'The contact is already active.', source: 'product-spec' },
  { code: 3032, httpStatus: 400, kind: 'already_inactive', retryable: false, message: 'The contact is already inactive.', source: 'product-spec' },
  { code: 6024, httpStatus: 400, kind: 'invalid_organization', retryable: false, message: 'Invalid organization.', source: 'product-spec' },
  { code: 6041, httpStatus: 400, kind: 'invalid_organization', retryable: false, message: 'This user is not associated with the organization_id', source: 'zoho' },
  { code: 1071, httpStatus: 400, kind: 'has_transactions', retryable: false, message: 'The contact cannot be deleted as it has transactions associated with it. Mark it as inactive instead.', source: 'emulator' },
  { code: 1072, httpStatus: 400, kind: 'contact_inactive', retryable: false, message: 'The contact is inactive. Mark it as active to create new transactions.', source: 'emulator' },
  { code: 3062, httpStatus: 400, kind: 'duplicate_name', retryable: false, message: 'The contact name already exists.', source: 'emulator' },
  { code: 44, httpStatus: 429, kind: 'rate_limited', retryable: true, message: 'The organization has exceeded the maximum number of requests per minute.', source: 'zoho' },
  { code: 45, httpStatus: 429, kind: 'quota_exhausted', retryable: false, message: 'The API call for this organization has exceeded the maximum call rate limit.', source: 'zoho' },
  { code: 1070, httpStatus: 429, kind: 'too_many_in_flight', retryable: true, message: 'You have reached the maximum number of in process requests allowed.', source: 'zoho' },
  { code: 1000, httpStatus: 500, kind: 'internal', retryable: true, message: 'Internal error', source: 'zoho' },
];

const byCode = new Map<number, ZohoErrorRow>(ZOHO_ERRORS.map((row) => [row.code, row]));

/** The table row for a Zoho code, or undefined for a code the table does not know. */
export function zohoErrorRow(code: number): ZohoErrorRow | undefined {
  return byCode.get(code);
}

/** Named codes, so call sites read as words rather than numbers. */
export const ZohoCode = {
  SUCCESS: 0,
  INVALID_VALUE: 2,
  INVALID_URL: 5,
  UNAUTHENTICATED: 14,
  METHOD_NOT_ALLOWED: 37,
  RATE_LIMITED: 44,
  QUOTA_EXHAUSTED: 45,
  UNAUTHORIZED: 57,
  INTERNAL: 1000,
  NOT_FOUND: 1002,
  TOO_MANY_IN_FLIGHT: 1070,
  HAS_TRANSACTIONS: 1071,
  CONTACT_INACTIVE: 1072,
  ALREADY_ACTIVE: 3031,
  ALREADY_INACTIVE: 3032,
  DUPLICATE_NAME: 3062,
  INVALID_ORGANIZATION: 6024,
  NOT_ASSOCIATED_ORGANIZATION: 6041,
} as const;
