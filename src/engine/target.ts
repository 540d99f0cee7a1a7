/**
 * Targets: what a connection reaches, recorded on every snapshot, plan and run so that a run is only
 * applied, verified or undone where it was made (docs/glossary.md). One string, comparable:
 *
 * - `zoho:EU` — Zoho Books on a data centre. An organization id is unique across Zoho and lives on
 *   one data centre, so the data centre and the organization say which books a run changed,
 *   whichever login reached them.
 * - `api:https://books.example.com` — a Zoho-compatible API at another address.
 * - `emulator:http://127.0.0.1:8742` — a running `sunset emulator start`.
 * - `embedded` — the emulator inside the CLI, its state beside the journal.
 * - `` (empty) — unknown: made before Sunset recorded targets; bound to nothing.
 */
import { booksContactUrl, isDataCentre, type DataCentre } from '../zoho/index.js';

export const EMBEDDED_TARGET = 'embedded';

export function zohoTarget(dataCentre: DataCentre): string {
  return `zoho:${dataCentre}`;
}

/** The origin of an API or emulator address, with `localhost` read as 127.0.0.1 (the same server). */
function canonicalOrigin(url: string): string {
  const u = new URL(url);
  if (u.hostname === 'localhost') u.hostname = '127.0.0.1';
  return u.origin;
}

export function emulatorTarget(url: string): string {
  return `emulator:${canonicalOrigin(url)}`;
}

export function apiTarget(url: string): string {
  return `api:${canonicalOrigin(url)}`;
}

/** For people: "Zoho Books (EU)", "the emulator at http://127.0.0.1:8742", "the embedded emulator". */
export function describeTarget(target: string): string {
  if (target === EMBEDDED_TARGET) return 'the embedded emulator';
  if (target === '') return 'an unrecorded place (made before Sunset recorded targets)';
  const colon = target.indexOf(':');
  const kind = target.slice(0, colon);
  const rest = target.slice(colon + 1);
  if (kind === 'zoho') return `Zoho Books (${rest})`;
  if (kind === 'emulator') return `the emulator at ${rest}`;
  if (kind === 'api') return `the Zoho Books API at ${rest}`;
  return target;
}

/** The emulator address of an `emulator:` target, else undefined. */
export function emulatorUrlOf(target: string): string | undefined {
  return target.startsWith('emulator:') ? target.slice('emulator:'.length) : undefined;
}

/**
 * Where a contact opens in the Zoho Books web app, for a target on Zoho (its data centre gives the
 * address); null for emulators and other APIs, which have no web app.
 */
export function contactAppUrl(target: string, organizationId: string, contactId: string): string | null {
  const dc = target.startsWith('zoho:') ? target.slice('zoho:'.length) : '';
  return isDataCentre(dc) ? booksContactUrl(dc, organizationId, contactId) : null;
}
