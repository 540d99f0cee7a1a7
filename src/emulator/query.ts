/** Query strings: parsed strictly, so percent-encoded bytes that are not UTF-8 are refused, not turned into U+FFFD. */

function decodePart(part: string): string {
  return decodeURIComponent(part.replace(/\+/g, ' '));
}

/** The parameters, or undefined when an escape does not decode to valid UTF-8. */
export function parseQuery(raw: string): URLSearchParams | undefined {
  const params = new URLSearchParams();
  if (raw === '') return params;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    try {
      if (eq < 0) params.append(decodePart(pair), '');
      else params.append(decodePart(pair.slice(0, eq)), decodePart(pair.slice(eq + 1)));
    } catch {
      return undefined;
    }
  }
  return params;
}
