/** Zoho data centres (reference §7): where to log in and where the Books API lives. */

export type DataCentre = 'US' | 'EU' | 'IN' | 'AU' | 'JP' | 'CA' | 'SA' | 'CN';

export interface DataCentreInfo {
  readonly dc: DataCentre;
  readonly accountsUrl: string;
  /** `https://www.zohoapis.<tld>`; the Books base URL is this plus `/books/v3`. */
  readonly apiDomain: string;
  /** The Zoho Books web app people use: `https://books.zoho.<tld>`. */
  readonly appUrl: string;
}

export const DATA_CENTRES: Readonly<Record<DataCentre, DataCentreInfo>> = {
  US: { dc: 'US', accountsUrl: 'https://accounts.zoho.com', apiDomain: 'https://www.zohoapis.com', appUrl: 'https://books.zoho.com' },
  EU: { dc: 'EU', accountsUrl: 'https://accounts.zoho.eu', apiDomain: 'https://www.zohoapis.eu', appUrl: 'https://books.zoho.eu' },
  IN: { dc: 'IN', accountsUrl: 'https://accounts.zoho.in', apiDomain: 'https://www.zohoapis.in', appUrl: 'https://books.zoho.in' },
  AU: { dc: 'AU', accountsUrl: 'https://accounts.zoho.com.au', apiDomain: 'https://www.zohoapis.com.au', appUrl: 'https://books.zoho.com.au' },
  JP: { dc: 'JP', accountsUrl: 'https://accounts.zoho.jp', apiDomain: 'https://www.zohoapis.jp', appUrl: 'https://books.zoho.jp' },
  CA: { dc: 'CA', accountsUrl: 'https://accounts.zohocloud.ca', apiDomain: 'https://www.zohoapis.ca', appUrl: 'https://books.zohocloud.ca' },
  SA: { dc: 'SA', accountsUrl: 'https://accounts.zoho.sa', apiDomain: 'https://www.zohoapis.sa', appUrl: 'https://books.zoho.sa' },
  CN: { dc: 'CN', accountsUrl: 'https://accounts.zoho.com.cn', apiDomain: 'https://www.zohoapis.com.cn', appUrl: 'https://books.zoho.com.cn' },
};

/** Where a contact opens in the Zoho Books web app: `https://books.zoho.eu/app/<organization>#/contacts/<contact>`. */
export function booksContactUrl(dc: DataCentre, organizationId: string, contactId: string): string {
  return `${DATA_CENTRES[dc].appUrl}/app/${organizationId}#/contacts/${contactId}`;
}

export const BOOKS_API_PATH = '/books/v3';

export function isDataCentre(value: string): value is DataCentre {
  return Object.prototype.hasOwnProperty.call(DATA_CENTRES, value);
}
