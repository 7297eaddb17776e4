/**
 * The canonical form of a request path (docs/path-handling.md): what the
 * router, every stage and the access event see, and what goes upstream.
 *
 * RFC 3986 section 6 as Envoy and nginx apply it at the edge: escaped
 * unreserved characters decoded, the escapes that stay upper-cased, literal
 * characters a URI may not hold (`"<>^`{|}[]`) escaped, so each byte has one
 * spelling; dot segments removed in every spelling (`%2e`, `.%2E`, and
 * `..;x`, which Java servers read as `..`); repeated slashes merged. An
 * escape that is malformed, a control character, part of invalid UTF-8 (an
 * overlong `%C0%AE` included) or a second encoding (`%252e`) makes the path
 * invalid, never something to guess about.
 */

export type PathError = 'GW_ERR_PATH_INVALID' | 'GW_ERR_PATH_DOUBLE_ENCODED' | 'GW_ERR_PATH_AMBIGUOUS';

export interface PathOptions {
  /** `//` → `/` (nginx merge_slashes). */
  mergeSlashes: boolean;
  /** `%2F`, `%5C` and a raw `\`: kept escaped inside their segment (true) or read as `/` (false). */
  keepSeparators: boolean;
  /** `;params` of a segment: kept (true) or removed (false). A dot segment loses them either way. */
  keepParams: boolean;
}

/** Anything the slow path would change or check; an already-canonical path never matches (beyond `/.`, `//`). */
const NEEDS_WORK = /[%\\;"<>^`{|}[\]]|\/\.|\/\//;

/** The path as it is, when it has nothing to decode, resolve, merge or escape. */
export const plainPath = (path: string): boolean => !NEEDS_WORK.test(path);

/** A path has escaped separators (`%2F`, `%5C`) or a raw backslash. */
export const hasSeparatorEscapes = (path: string): boolean => path.indexOf('\\') !== -1 || /%(?:2f|5c)/i.test(path);

/** A path has `;` path parameters. */
export const hasPathParams = (path: string): boolean => path.indexOf(';') !== -1;

const HEX = '0123456789ABCDEF';
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
/** Printable ASCII a path may not hold literally (RFC 3986 pchar); Node's parser has refused the rest. */
const ESCAPE_LITERAL = new Uint8Array(128);
for (const c of '"<>^`{|}[]') ESCAPE_LITERAL[c.charCodeAt(0)] = 1;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

const escaped = (b: number) => '%' + HEX[b >> 4] + HEX[b & 15];

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** WHATWG's strict decoder: refuses overlong forms, surrogates, code points past U+10FFFF and cut sequences. */
function validUtf8(bytes: number[]): boolean {
  try {
    utf8.decode(Uint8Array.from(bytes));
    return true;
  } catch {
    return false;
  }
}

/** A kept `%2F..%2F`: an upstream that decodes the slashes would climb out of what was routed and authorised. */
function hidesDotSegment(segment: string): boolean {
  for (const piece of segment.split(/%2F|%5C/)) if (piece === '.' || piece === '..') return true;
  return false;
}

/** The canonical form of `path` (origin-form, starting with `/`, no query), or why it has none. */
export function canonicalPath(path: string, o: PathOptions): string | PathError {
  if (path.charCodeAt(0) !== 47) return 'GW_ERR_PATH_INVALID';
  if (plainPath(path)) return path;
  const out: string[] = [];
  let seg = '';
  /** Where `;` starts in `seg` (kept params), else -1. */
  let paramsAt = -1;
  /** Dropping the rest of this segment's params (keepParams false). */
  let inParams = false;
  let keptSeparator = false;
  const pending: number[] = [];

  const endSegment = (last: boolean): PathError | undefined => {
    const name = paramsAt === -1 ? seg : seg.slice(0, paramsAt);
    if (name === '.' || name === '..') {
      if (name === '..') out.pop();
      if (last) out.push('');
    } else if (keptSeparator && hidesDotSegment(name)) {
      return 'GW_ERR_PATH_AMBIGUOUS';
    } else if (seg !== '' || last || !o.mergeSlashes) {
      out.push(seg);
    }
    seg = '';
    paramsAt = -1;
    inParams = false;
    keptSeparator = false;
    return undefined;
  };

  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return 'GW_ERR_PATH_INVALID';
      i += 2;
      const b = hi * 16 + lo;
      if (b >= 0x80) {
        pending.push(b);
        if (!inParams) seg += escaped(b);
        continue;
      }
      if (pending.length > 0 && !validUtf8(pending.splice(0))) return 'GW_ERR_PATH_INVALID';
      if (b < 0x20 || b === 0x7f) return 'GW_ERR_PATH_INVALID';
      if (b === 0x2f || b === 0x5c) {
        if (!o.keepSeparators) {
          const e = endSegment(false);
          if (e) return e;
        } else if (!inParams) {
          seg += escaped(b);
          keptSeparator = true;
        }
        continue;
      }
      if (!inParams) seg += UNRESERVED[b] ? String.fromCharCode(b) : escaped(b);
      continue;
    }
    if (pending.length > 0 && !validUtf8(pending.splice(0))) return 'GW_ERR_PATH_INVALID';
    if (c === 47 /* / */ || (c === 92 /* \ */ && !o.keepSeparators)) {
      const e = endSegment(false);
      if (e) return e;
      continue;
    }
    if (inParams) continue;
    if (c === 92) {
      seg += '%5C';
      keptSeparator = true;
    } else if (c === 59 /* ; */) {
      if (o.keepParams) {
        if (paramsAt === -1) paramsAt = seg.length;
        seg += ';';
      } else inParams = true;
    } else seg += c < 128 && ESCAPE_LITERAL[c] ? escaped(c) : path[i];
  }
  if (pending.length > 0 && !validUtf8(pending)) return 'GW_ERR_PATH_INVALID';
  const e = endSegment(true);
  if (e) return e;
  const canonical = '/' + out.join('/');
  // An escaped `%` before two hex digits, however each was spelled (`%252e`, `%25%32%65`): an upstream that decodes
  // twice reads another path.
  if (canonical.indexOf('%25') !== -1 && /%25[0-9A-F]{2}/i.test(canonical)) return 'GW_ERR_PATH_DOUBLE_ENCODED';
  return canonical;
}
