/** Zoho data centres (reference §7): where to log in and where the Books API lives. */

export type DataCentre = 'US' | 'EU' | 'IN' | 'AU' | 'JP' | 'CA' | 'SA' | 'CN';

export interface DataCentreInfo {
  readonly dc: DataCentre;
  readonly accountsUrl: string;
  /** `https://www.zohoapis.<tld>`; the Books base URL is this plus `/books/v3`. */
  readonly apiDomain: string;
}

export const DATA_CENTRES: Readonly<Record<DataCentre, DataCentreInfo>> = {
  US: { dc: 'US', accountsUrl: 'https://accounts.zoho.com', apiDomain: 'https://www.zohoapis.com' },
  EU: { dc: 'EU', accountsUrl: 'https://accounts.zoho.eu', apiDomain: 'https://www.zohoapis.eu' },
  IN: { dc: 'IN', accountsUrl: 'https://accounts.zoho.in', apiDomain: 'https://www.zohoapis.in' },
  AU: { dc: 'AU', accountsUrl: 'https://accounts.zoho.com.au', apiDomain: 'https://www.zohoapis.com.au' },
  JP: { dc: 'JP', accountsUrl: 'https://accounts.zoho.jp', apiDomain: 'https://www.zohoapis.jp' },
  CA: { dc: 'CA', accountsUrl: 'https://accounts.zohocloud.ca', apiDomain: 'https://www.zohoapis.ca' },
  SA: { dc: 'SA', accountsUrl: 'https://accounts.zoho.sa', apiDomain: 'https://www.zohoapis.sa' },
  CN: { dc: 'CN', accountsUrl: 'https://accounts.zoho.com.cn', apiDomain: 'https://www.zohoapis.com.cn' },
};

export const BOOKS_API_PATH = '/books/v3';

export function isDataCentre(value: string): value is DataCentre {
  return Object.prototype.hasOwnProperty.call(DATA_CENTRES, value);
}
