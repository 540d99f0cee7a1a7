/**
 * Finding the contacts a change list names, in one organization, before anything is changed: which
 * exist (with what a change needs to know of them: status, balances, created time) and which do not
 * (an id of another organization, a deleted contact, a mistyped id that is still 15 to 19 digits).
 */
import type { BooksPort, PortContact } from './port.js';

/**
 * Up to this many ids are read one GET each. Paging costs one call per 200 contacts of the
 * organization, and that count is unknown up front; a handful of GETs costs less than paging any
 * but the smallest organization, and a user naming a few ids on the command line should not wait
 * for a 50,000-contact organization to be listed.
 */
export const FEW_IDS = 10;

export interface LookupProgress {
  /** Ids asked for (each once). */
  total: number;
  /** Found in the organization so far. */
  found: number;
  /** Pages of the organization's contacts read so far (200 contacts each). */
  pages: number;
  /** Single-contact reads so far. */
  gets: number;
}

export interface LookupResult {
  /** The contacts found, by id. */
  contacts: Map<string, PortContact>;
  /** The ids the organization does not have, in the order asked. */
  unknown: string[];
  /** Calls made: pages listed plus single-contact reads. */
  pages: number;
  gets: number;
}

export interface LookupOptions {
  signal?: AbortSignal;
  onProgress?: (progress: LookupProgress) => void;
}

/**
 * Looks every id up in the port's organization, with as few calls as it can without knowing how big
 * the organization is:
 * - at most FEW_IDS ids: one GET each;
 * - more: list the organization's contacts (all statuses, 200 a page) and stop as soon as every id
 *   is found; but once the ids still missing are no more than the pages already read, GET those
 *   instead. Either paging ends with every id found in P pages, which happens only while the ids
 *   missing outnumber the pages read, so P is at most the number of ids (the cheaper way), or it
 *   switches after k pages with at most k ids left: k + k calls, where k is at most both the number
 *   of ids and the pages needed. So the lookup costs at most twice the cheaper of the two ways,
 *   whatever the organization's size; ids of another organization or deleted contacts cost at most
 *   that too (paging alone would read the whole organization for them).
 * A page listing every contact proves the ids not on it unknown: no GET for them then.
 */
export async function lookUpContacts(port: BooksPort, ids: readonly string[], options: LookupOptions = {}): Promise<LookupResult> {
  const wanted = [...new Set(ids)];
  const contacts = new Map<string, PortContact>();
  const missing = new Set(wanted);
  let pages = 0;
  let gets = 0;
  const report = (): void => options.onProgress?.({ total: wanted.length, found: contacts.size, pages, gets });

  if (wanted.length > FEW_IDS) {
    let listedAll = true;
    for await (const page of port.listContacts({ status: 'all', signal: options.signal })) {
      pages++;
      for (const c of page) {
        if (missing.delete(c.contactId)) contacts.set(c.contactId, c);
      }
      report();
      if (missing.size === 0 || missing.size <= pages) {
        // Leaving the loop ends the listing: no further page is asked for.
        listedAll = false;
        break;
      }
    }
    if (listedAll || missing.size === 0) return finish();
  }

  for (const id of [...missing]) {
    options.signal?.throwIfAborted();
    const c = await port.getContact(id, options.signal);
    gets++;
    if (c && c.contactId === id) {
      contacts.set(id, c);
      missing.delete(id);
    }
    report();
  }
  return finish();

  function finish(): LookupResult {
    return { contacts, unknown: wanted.filter((id) => missing.has(id)), pages, gets };
  }
}
