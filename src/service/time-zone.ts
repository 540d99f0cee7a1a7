/**
 * An organization's time zone: what Zoho says (`time_zone` in `GET /organizations`) made into an
 * IANA name that croner and Intl evaluate. Zoho sends IANA names, often in their older spelling
 * (`Asia/Calcutta`, which Sunset writes `Asia/Kolkata`); its documentation also shows abbreviations
 * (`PST`), read here as the regions Zoho's documentation means (North America's for PST, EST, CST,
 * MST; India's for IST); and a formatted "(GMT 5:30) India Standard Time (Asia/Calcutta)" gives
 * the name in its last brackets. A whole-hour offset (`GMT+4`) becomes `Etc/GMT-4`. Any other
 * name the runtime's time zone data knows is used as it is (ICU knows Java's old three-letter IDs,
 * the platform Zoho runs on, the way Java reads them). Anything else is unknown: the schedule runs in UTC and `problem` says so, for the UI, the CLI and the log.
 */
import { UTC } from './cron.js';

export interface TimeZone {
  /** The IANA zone schedules are evaluated in: the organization's, or UTC when that is not known. */
  zone: string;
  /** What Zoho said, as it said it (null: the service has not learned it yet). */
  zoho: string | null;
  /** Why `zone` is UTC rather than the organization's own (null: it is the organization's own). */
  problem: string | null;
}

/** Abbreviations, as Zoho's documentation uses them (its example is `PST`). */
const ABBREVIATIONS: Readonly<Record<string, string>> = {
  UTC, GMT: UTC, UCT: UTC, Z: UTC, ZULU: UTC, UNIVERSAL: UTC,
  PST: 'America/Los_Angeles', PDT: 'America/Los_Angeles', PT: 'America/Los_Angeles',
  MST: 'America/Denver', MDT: 'America/Denver', MT: 'America/Denver',
  CST: 'America/Chicago', CDT: 'America/Chicago', CT: 'America/Chicago',
  EST: 'America/New_York', EDT: 'America/New_York', ET: 'America/New_York',
  AKST: 'America/Anchorage', AKDT: 'America/Anchorage', HST: 'Pacific/Honolulu',
  AST: 'America/Halifax', ADT: 'America/Halifax', NST: 'America/St_Johns', NDT: 'America/St_Johns',
  BST: 'Europe/London', WET: 'Europe/Lisbon', WEST: 'Europe/Lisbon',
  CET: 'Europe/Berlin', CEST: 'Europe/Berlin', EET: 'Europe/Athens', EEST: 'Europe/Athens', MSK: 'Europe/Moscow',
  IST: 'Asia/Kolkata', PKT: 'Asia/Karachi', GST: 'Asia/Dubai', SGT: 'Asia/Singapore', HKT: 'Asia/Hong_Kong',
  JST: 'Asia/Tokyo', KST: 'Asia/Seoul', SAST: 'Africa/Johannesburg', WAT: 'Africa/Lagos', EAT: 'Africa/Nairobi',
  AEST: 'Australia/Sydney', AEDT: 'Australia/Sydney', ACST: 'Australia/Adelaide', ACDT: 'Australia/Adelaide',
  AWST: 'Australia/Perth', NZST: 'Pacific/Auckland', NZDT: 'Pacific/Auckland',
};

/** IANA names that were renamed, as Zoho (a Java platform) still spells them: their current names. */
const RENAMED: Readonly<Record<string, string>> = {
  'Asia/Calcutta': 'Asia/Kolkata', 'Asia/Saigon': 'Asia/Ho_Chi_Minh', 'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon', 'Asia/Dacca': 'Asia/Dhaka', 'Asia/Ulan_Bator': 'Asia/Ulaanbaatar',
  'Asia/Istanbul': 'Europe/Istanbul', 'Europe/Kiev': 'Europe/Kyiv', 'Atlantic/Faeroe': 'Atlantic/Faroe',
  'America/Godthab': 'America/Nuuk', 'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'US/Eastern': 'America/New_York', 'US/Central': 'America/Chicago', 'US/Mountain': 'America/Denver',
  'US/Pacific': 'America/Los_Angeles', 'US/Alaska': 'America/Anchorage', 'US/Hawaii': 'Pacific/Honolulu',
  'Etc/UTC': UTC, 'Etc/GMT': UTC, 'Etc/UCT': UTC, 'Etc/Universal': UTC, 'Etc/Zulu': UTC,
};

/** True when the runtime (Intl, which croner uses too) knows the zone. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The spellings Sunset writes zones in, by lower-case name: the runtime's list and the names above. */
let spellings: Map<string, string> | undefined;
function spelling(name: string): string | undefined {
  if (!spellings) {
    spellings = new Map();
    for (const z of [...Intl.supportedValuesOf('timeZone'), ...Object.values(ABBREVIATIONS), ...Object.keys(RENAMED), ...Object.values(RENAMED)]) {
      spellings.set(z.toLowerCase(), z);
    }
  }
  return spellings.get(name.toLowerCase());
}

/** An IANA name (any case) in Sunset's spelling, renamed zones under their current name; undefined when unknown. */
function ianaName(name: string): string | undefined {
  const spelled = spelling(name) ?? name;
  const current = RENAMED[spelled] ?? spelled;
  if (current !== spelled && isTimeZone(current)) return current;
  return isTimeZone(spelled) ? spelled : undefined;
}

/** Zoho's `time_zone` as an IANA name, or undefined when it is not one Sunset can read. */
function fromZoho(text: string): string | undefined {
  const bracketed = /\(([^()]+)\)\s*$/.exec(text)?.[1]?.trim();
  if (bracketed && bracketed.includes('/')) return ianaName(bracketed);
  const abbreviation = ABBREVIATIONS[text.toUpperCase()];
  if (abbreviation) return abbreviation;
  const offset = /^(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?00)?$/i.exec(text);
  if (offset) {
    const hours = Number(offset[2]);
    if (hours === 0) return UTC;
    // The Etc/ zones count the other way: Etc/GMT-4 is four hours ahead of UTC.
    const zone = `Etc/GMT${offset[1] === '+' ? '-' : '+'}${hours}`;
    return hours <= 14 && isTimeZone(zone) ? zone : undefined;
  }
  return ianaName(text);
}

/** The zone an organization's schedules run in, from what Zoho said (null: not learned yet). */
export function resolveTimeZone(zoho: string | null | undefined): TimeZone {
  const text = zoho?.trim() ?? '';
  if (text === '') {
    return { zone: UTC, zoho: null, problem: 'the organization\'s time zone is not known yet (Sunset learns it from Zoho when it lists the organizations): schedules run in UTC until then' };
  }
  const zone = fromZoho(text);
  if (zone === undefined) return { zone: UTC, zoho: text, problem: `Zoho's time zone "${text}" is not one Sunset knows: schedules run in UTC` };
  return { zone, zoho: text, problem: null };
}
