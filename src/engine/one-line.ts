/**
 * Text with line breaks and other control characters escaped (`\n`, `\r`, `\u0000`), so that a
 * key, value or cell quoted in a problem keeps that problem on one line of output (and cannot fake
 * a `FILE:LINE:` line of its own).
 */
export function oneLine(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0)!;
    const control = (code < 0x20 && c !== '\t') || code === 0x7f || code === 0x85 || code === 0x2028 || code === 0x2029;
    out += !control ? c : c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}
