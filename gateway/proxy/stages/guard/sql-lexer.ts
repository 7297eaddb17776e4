/**
 * A small SQL lexer in the manner of libinjection: it reads a value as SQL
 * would if the value were pasted into a query, either as it stands (numeric
 * context) or as the rest of a string the query opened with `'` or `"`. The
 * token types, not the words, are what the rules in sqli.ts look at.
 *
 * Tokens go into module-level arrays reused by every call: the guard runs
 * synchronously, one value at a time, so sharing them is safe and costs no
 * allocation per value.
 */
export const N = 1,
  S = 2,
  SO = 3,
  W = 4,
  F = 5,
  LOGIC = 6,
  OP = 7,
  AOP = 8,
  LP = 9,
  RP = 10,
  COMMA = 11,
  SEMI = 12,
  CMT = 13,
  VAR = 14,
  UNION = 15,
  SELECT = 16,
  FROM = 17,
  ORDER = 18,
  BY = 19,
  VERB = 20,
  LIT = 21,
  NOT = 22;

/** Past this many tokens the rest of a value is not read (every attack in the corpus needs fewer than 60). */
export const MAX_TOKENS = 200;
export const type = new Uint8Array(MAX_TOKENS);
/** Lower-cased text of word-like tokens (W, F, VAR and keywords); '' for the rest. */
export const text: string[] = new Array<string>(MAX_TOKENS).fill('');

const KEYWORDS = new Map<string, number>([
  ['and', LOGIC],
  ['or', LOGIC],
  ['xor', LOGIC],
  ['having', LOGIC],
  ['where', LOGIC],
  ['like', OP],
  ['rlike', OP],
  ['regexp', OP],
  ['is', OP],
  ['in', OP],
  ['between', OP],
  ['sounds', OP],
  ['glob', OP],
  ['union', UNION],
  ['select', SELECT],
  ['from', FROM],
  ['order', ORDER],
  ['group', ORDER],
  ['by', BY],
  ['drop', VERB],
  ['delete', VERB],
  ['insert', VERB],
  ['update', VERB],
  ['exec', VERB],
  ['execute', VERB],
  ['declare', VERB],
  ['shutdown', VERB],
  ['copy', VERB],
  ['truncate', VERB],
  ['alter', VERB],
  ['create', VERB],
  ['waitfor', VERB],
  ['rename', VERB],
  ['null', LIT],
  ['true', LIT],
  ['false', LIT],
  ['not', NOT],
]);

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0xfeff;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isWordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || c > 127;
}
function isWordChar(c: number): boolean {
  return isWordStart(c) || isDigit(c) || c === 46;
}

/** s[i, j) as a number: decimal (with `.` and an exponent), 0x hex or 0b binary. */
function isNumber(s: string, i: number, j: number): boolean {
  const c1 = s.charCodeAt(i + 1) | 32;
  if (s.charCodeAt(i) === 48 && j - i > 2 && (c1 === 120 || c1 === 98)) {
    for (let k = i + 2; k < j; k++) {
      const c = s.charCodeAt(k) | 32;
      if (!(isDigit(c) || (c1 === 120 && c >= 97 && c <= 102))) return false;
    }
    return true;
  }
  let exp = false;
  for (let k = i; k < j; k++) {
    const c = s.charCodeAt(k);
    if (isDigit(c) || c === 46) continue;
    if ((c | 32) === 101 && !exp && k > i && k + 1 < j) {
      exp = true;
      if (s.charCodeAt(k + 1) === 43 || s.charCodeAt(k + 1) === 45) k++;
      continue;
    }
    return false;
  }
  return true;
}

/** Index after the string that starts inside quotes at `i` (quote `q`), or -1 when it never closes. */
function stringEnd(s: string, i: number, q: number): number {
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92) {
      i++;
      continue;
    }
    if (c === q) {
      if (s.charCodeAt(i + 1) === q) {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return -1;
}

/**
 * Lexes `s` into `type`/`text`; `quote` is 0 (as it stands), 39 (after a `'`)
 * or 34 (after a `"`). Returns the token count.
 */
export function lex(s: string, quote: number): number {
  let n = 0;
  let i = 0;
  const len = s.length;
  if (quote !== 0) {
    const end = stringEnd(s, 0, quote);
    type[n] = end === -1 ? SO : S;
    text[n++] = '';
    if (end === -1) return n;
    i = end;
  }
  while (i < len && n < MAX_TOKENS) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (isSpace(c)) {
      i++;
      continue;
    }
    text[n] = '';
    if (c === 47 && d === 42) {
      // /* */ is whitespace; /*! (MySQL) runs its content; unterminated truncates the query
      if (s.charCodeAt(i + 2) === 33) {
        i += 3;
        while (i < len && isDigit(s.charCodeAt(i))) i++;
        continue;
      }
      const close = s.indexOf('*/', i + 2);
      if (close === -1) {
        type[n++] = CMT;
        return n;
      }
      i = close + 2;
      continue;
    }
    if (c === 42 && d === 47) {
      i += 2;
      continue;
    }
    if ((c === 45 && d === 45) || c === 35) {
      type[n++] = CMT;
      return n;
    }
    if (c === 39 || c === 34) {
      const end = stringEnd(s, i + 1, c);
      if (end === -1) {
        type[n++] = SO;
        return n;
      }
      type[n++] = S;
      i = end;
      continue;
    }
    if (c === 96) {
      // `identifier`
      const end = s.indexOf('`', i + 1);
      type[n++] = W;
      i = end === -1 ? len : end + 1;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(d))) {
      let j = i + 1;
      if (c === 48 && (d === 120 || d === 88 || d === 98 || d === 66)) j++;
      while (j < len && (isDigit(s.charCodeAt(j)) || isWordStart(s.charCodeAt(j)) || s.charCodeAt(j) === 46)) j++;
      // "5th", "3d", "1a2b" are words; 1e5, 0x7e, 0b01, 1.5 are numbers.
      type[n] = isNumber(s, i, j) ? N : W;
      text[n++] = s.slice(i, j).toLowerCase();
      i = j;
      continue;
    }
    if (c === 64) {
      // @var, @@system_var
      let j = i + 1;
      if (s.charCodeAt(j) === 64) j++;
      while (j < len && isWordChar(s.charCodeAt(j))) j++;
      type[n] = VAR;
      text[n++] = s.slice(i, j).toLowerCase();
      i = j;
      continue;
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < len && isWordChar(s.charCodeAt(j))) j++;
      let end = j;
      while (end > i + 1 && s.charCodeAt(end - 1) === 46) end--;
      const word = s.slice(i, end).toLowerCase();
      let k = KEYWORDS.get(word) ?? W;
      if (k === W) {
        let p = j;
        while (p < len && isSpace(s.charCodeAt(p))) p++;
        if (s.charCodeAt(p) === 40) k = F;
      }
      type[n] = k;
      text[n++] = word;
      i = j;
      continue;
    }
    i++;
    switch (c) {
      case 40:
        type[n++] = LP;
        break;
      case 41:
        type[n++] = RP;
        break;
      case 44:
        type[n++] = COMMA;
        break;
      case 59:
        type[n++] = SEMI;
        break;
      case 61:
        type[n++] = OP;
        if (d === 61) i++;
        break;
      case 60:
      case 62: // < > <= >= <> <=>
        type[n++] = OP;
        if (d === 61 || d === 62) i++;
        if (s.charCodeAt(i) === 62) i++;
        break;
      case 33: // != or !
        if (d === 61) {
          type[n++] = OP;
          i++;
        } else {
          type[n++] = NOT;
        }
        break;
      case 124:
      case 38: // || && are OR / AND (MySQL); single | & are bit operators
        if (d === c) {
          type[n++] = LOGIC;
          i++;
        } else type[n++] = AOP;
        break;
      case 43:
      case 45:
      case 42:
      case 47:
      case 37:
      case 94:
      case 126:
      case 58:
        type[n] = AOP;
        text[n++] = s[i - 1];
        break;
      default: // other punctuation separates tokens and means nothing to SQL
    }
  }
  return n;
}
