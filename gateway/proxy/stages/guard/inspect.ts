import type { IncomingHttpHeaders } from 'node:http';
import { decodeValue } from './decode.ts';
import { isSqli } from './sqli.ts';
import { isXss } from './xss.ts';

/** What a value was found to carry: nothing, SQL injection or XSS (numbers, so a clean request allocates nothing). */
export const CLEAN = 0,
  SQLI = 1,
  XSS = 2;
export type Finding = typeof CLEAN | typeof SQLI | typeof XSS;

export interface InspectRules {
  sqli: boolean;
  xss: boolean;
  /** Exact lower-case header names to inspect. */
  headerNames: readonly string[];
  /** Lower-case name prefixes (`x-` from `x-*`). */
  headerPrefixes: readonly string[];
  /** Longer values are inspected up to this many characters. */
  maxChars: number;
}

// Characters no injection can do without (after decoding, or encoded as %, &, \).
const TRIGGER = new Uint8Array(128);
for (const c of `'"<>;()\`\\%&#=*{`) TRIGGER[c.charCodeAt(0)] = 1;
// A number-context injection may need none of them: `1 union select 1,2`, `1 and 1 rlike 1`, `1 group by 1,2--`.
const UNION = /union|--|\s(?:and|or|xor|like|rlike|regexp|having|order|group)\s/i;

/** The pre-filter: most ordinary values contain none of the trigger characters and stop here. */
function suspicious(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 ? TRIGGER[c] === 1 : c >= 0xff01 && c <= 0xff5e) return true;
  }
  return to - from >= 12 && UNION.test(from === 0 && to === s.length ? s : s.slice(from, to));
}

/** One value, raw as it arrived. */
export function inspectValue(raw: string, plusIsSpace: boolean, rules: InspectRules): Finding {
  const s = raw.length > rules.maxChars ? raw.slice(0, rules.maxChars) : raw;
  if (!suspicious(s, 0, s.length)) return CLEAN;
  const v = decodeValue(s, plusIsSpace);
  if (v !== s && !suspicious(v, 0, v.length)) return CLEAN;
  const lower = v.toLowerCase();
  if (rules.sqli && isSqli(v, lower)) return SQLI;
  if (rules.xss && isXss(v, lower)) return XSS;
  return CLEAN;
}

/** The path: XSS over the whole of it, SQL per segment (an application maps segments to parameters). */
export function inspectPath(path: string, rules: InspectRules): Finding {
  if (!suspicious(path, 0, Math.min(path.length, rules.maxChars))) return CLEAN;
  if (rules.xss) {
    const v = decodeValue(path.length > rules.maxChars ? path.slice(0, rules.maxChars) : path, false);
    if (isXss(v)) return XSS;
  }
  if (!rules.sqli) return CLEAN;
  const sqlOnly = { ...rules, xss: false };
  for (const seg of path.split('/')) {
    if (seg !== '' && inspectValue(seg, false, sqlOnly) === SQLI) return SQLI;
  }
  return CLEAN;
}

/**
 * The pre-scan of `a=1&b=2` (sep `&`) or `a=1; b=2` (sep `;`): the delimiters
 * are not triggers, but a second `=` inside one pair is (`id=1 or 1=1`).
 */
function delimitedSuspicious(s: string, sep: number, maxChars: number): boolean {
  let eq = 0;
  const end = Math.min(s.length, maxChars);
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === sep) eq = 0;
    else if (c === 61) {
      if (++eq > 1) return true;
    } else if (c < 128 ? TRIGGER[c] === 1 : c >= 0xff01 && c <= 0xff5e) return true;
  }
  return s.length >= 12 && UNION.test(s);
}

/**
 * A raw query string (no `?`): each key and value on its own. The pre-scan
 * ignores the `=` and `&` that delimit parameters, so `a=1&b=2` costs one
 * pass and no allocation.
 */
export function inspectQuery(query: string, rules: InspectRules): Finding {
  if (query === '' || !delimitedSuspicious(query, 38, rules.maxChars)) return CLEAN;
  let from = 0;
  while (from <= query.length) {
    let amp = query.indexOf('&', from);
    if (amp === -1) amp = query.length;
    if (amp > from) {
      const pair = query.slice(from, amp);
      const eqAt = pair.indexOf('=');
      const f =
        eqAt === -1
          ? inspectValue(pair, true, rules)
          : inspectValue(pair.slice(0, eqAt), true, rules) || inspectValue(pair.slice(eqAt + 1), true, rules);
      if (f !== CLEAN) return f;
    }
    from = amp + 1;
  }
  return CLEAN;
}

function inspectHeader(name: string, value: string, rules: InspectRules): Finding {
  if (name === 'cookie') {
    if (!delimitedSuspicious(value, 59, rules.maxChars)) return CLEAN;
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=');
      const f = inspectValue(eq === -1 ? pair : pair.slice(eq + 1), false, rules);
      if (f !== CLEAN) return f;
    }
    return CLEAN;
  }
  if (name === 'referer') {
    const q = value.indexOf('?');
    if (q === -1) return inspectValue(value, false, rules);
    return inspectValue(value.slice(0, q), false, rules) || inspectQuery(value.slice(q + 1), rules);
  }
  return inspectValue(value, false, rules);
}

/** The configured headers (exact names and prefixes). */
export function inspectHeaders(headers: IncomingHttpHeaders, rules: InspectRules): Finding {
  for (const name of rules.headerNames) {
    const v = headers[name];
    if (v === undefined) continue;
    const f = typeof v === 'string' ? inspectHeader(name, v, rules) : inspectHeader(name, v.join(', '), rules);
    if (f !== CLEAN) return f;
  }
  if (rules.headerPrefixes.length === 0) return CLEAN;
  for (const name in headers) {
    let match = false;
    for (const p of rules.headerPrefixes)
      if (name.startsWith(p)) {
        match = true;
        break;
      }
    const v = headers[name];
    if (!match || v === undefined || rules.headerNames.includes(name)) continue;
    const f = typeof v === 'string' ? inspectHeader(name, v, rules) : inspectHeader(name, v.join(', '), rules);
    if (f !== CLEAN) return f;
  }
  return CLEAN;
}

/**
 * Every string literal of a JSON text that JSON.parse accepted: keys and values, at any depth, each occurrence. The
 * parsed document would hide what the upstream's parser may read: of a duplicated key it keeps the last value (some
 * parsers take the first), and walking it needs a depth limit that a payload nested deeper passes under. In valid
 * JSON a quote outside a string can only open one, so the literals are found by their quotes alone.
 */
export function inspectJsonText(text: string, rules: InspectRules): Finding {
  let at = text.indexOf('"');
  while (at !== -1) {
    let end = at + 1;
    let escaped = false;
    for (let c = text.charCodeAt(end); c !== 0x22 && end < text.length; c = text.charCodeAt(++end)) {
      if (c === 0x5c) {
        escaped = true;
        end++;
      }
    }
    if (end >= text.length) break; // unterminated: not JSON, which the caller checked
    const f = inspectValue(escaped ? JSON.parse(text.slice(at, end + 1)) : text.slice(at + 1, end), false, rules);
    if (f !== CLEAN) return f;
    at = text.indexOf('"', end + 1);
  }
  return CLEAN;
}

/**
 * Every quoted string of a body that says it is JSON but that JSON.parse refuses. Lenient parsers read many such
 * bodies, and their strings reach the service as values: Python's json takes NaN and Infinity, Json.NET and JSON5
 * single quotes, comments and trailing commas, Ruby's json comments. A literal opens at either quote outside another
 * and runs to the same quote unescaped (or the end of the text). A quote inside a comment makes a longer literal,
 * which is inspected all the same: no character inside quotes goes uninspected.
 */
export function inspectLenientJsonText(text: string, rules: InspectRules): Finding {
  let at = 0;
  while (at < text.length) {
    const quote = text.charCodeAt(at);
    if (quote !== 0x22 && quote !== 0x27) {
      at++;
      continue;
    }
    let end = at + 1;
    while (end < text.length && text.charCodeAt(end) !== quote) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
    const raw = text.slice(at + 1, Math.min(end, text.length));
    // Escaped quotes, backslashes and slashes as the parser reads them; \uXXXX and \xXX are decodeValue's.
    const f = inspectValue(raw.includes('\\') ? raw.replace(/\\(["'\\/])/g, '$1') : raw, false, rules);
    if (f !== CLEAN) return f;
    at = end + 1;
  }
  return CLEAN;
}
