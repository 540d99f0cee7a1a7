/** Zoho record ids are numeric strings of 15–19 digits (reference §1). Never parse them as numbers. */
const ZOHO_ID = /^[0-9]{15,19}$/;

export function isZohoId(value: unknown): value is string {
  return typeof value === 'string' && ZOHO_ID.test(value);
}

/** Organization ids are numeric strings too, usually shorter (9–12 digits live); allow 1–19. */
const ORG_ID = /^[0-9]{1,19}$/;

export function isOrganizationId(value: unknown): value is string {
  return typeof value === 'string' && ORG_ID.test(value);
}
