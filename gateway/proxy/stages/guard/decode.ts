/**
 * Undoes what a server, a framework or a browser may decode before a value
 * reaches SQL or HTML, so an encoded payload looks like the plain one:
 * percent-encoding (repeatedly: double encoding is a classic evasion),
 * `%uXXXX`, `\uXXXX` / `\xXX` escapes, HTML entities and full-width forms.
 * Rounds are bounded: a value that keeps changing after MAX_ROUNDS is
 * inspected as it stands then.
 */
const MAX_ROUNDS = 3;

const NAMED: Record<string, string> = {
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  amp: '&',
  tab: '\t',
  newline: '\n',
  colon: ':',
  lpar: '(',
  rpar: ')',
  equals: '=',
  sol: '/',
  bsol: '\\',
  semi: ';',
  comma: ',',
  period: '.',
  excl: '!',
  num: '#',
  grave: '`',
  nbsp: ' ',
  lsqb: '[',
  rsqb: ']',
  lbrack: '[',
  rbrack: ']',
  lcub: '{',
  rcub: '}',
  plus: '+',
  percnt: '%',
  ast: '*',
  quest: '?',
};

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;
const PERCENT_U = /%u([0-9A-Fa-f]{4})/g;
const BACKSLASH = /\\(?:u\{([0-9A-Fa-f]{1,6})\}|u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2}))/g;
// Entities without the closing `;` still decode in browsers (`&#106` = j), so it is optional; zero padding too.
const ENTITY = /&(?:#[xX]([0-9A-Fa-f]{1,8});?|#([0-9]{1,10});?|([A-Za-z]{2,8});)/g;
const FULLWIDTH = /[\uFF01-\uFF5E]/;

function percentRun(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    // Not UTF-8: decode byte by byte (Latin-1), which is what a lenient server does.
    let out = '';
    for (let i = 0; i < run.length; i += 3) out += String.fromCharCode(parseInt(run.slice(i + 1, i + 3), 16));
    return out;
  }
}

function codePoint(n: number): string {
  return n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '';
}

function entity(m: string, hex: string | undefined, dec: string | undefined, name: string | undefined): string {
  if (hex !== undefined) return codePoint(parseInt(hex, 16));
  if (dec !== undefined) return codePoint(Number(dec));
  return NAMED[name!.toLowerCase()] ?? m;
}

/** One decoding pass; returns the input itself when nothing applies (the common case allocates nothing). */
function decodeOnce(s: string): string {
  let out = s;
  if (out.indexOf('%') !== -1) {
    out = out.replace(PERCENT_U, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    out = out.replace(PERCENT_RUN, percentRun);
  }
  if (out.indexOf('\\') !== -1) {
    out = out.replace(BACKSLASH, (_m, cp?: string, u?: string, x?: string) => codePoint(parseInt((cp ?? u ?? x)!, 16)));
  }
  if (out.indexOf('&') !== -1) out = out.replace(ENTITY, entity);
  return out;
}

/**
 * The value as the application may finally see it. `plusIsSpace` for query
 * strings and form values, where `+` means a space.
 */
export function decodeValue(raw: string, plusIsSpace: boolean): string {
  let s = plusIsSpace && raw.indexOf('+') !== -1 ? raw.replaceAll('+', ' ') : raw;
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const next = decodeOnce(s);
    if (next === s) break;
    s = next;
  }
  // Full-width `＜script＞` becomes `<script>` under the best-fit mappings some servers apply.
  if (FULLWIDTH.test(s)) s = s.normalize('NFKC');
  // NUL bytes are dropped by many parsers and are used to split keywords.
  if (s.indexOf('\0') !== -1) s = s.replaceAll('\0', '');
  return s;
}
