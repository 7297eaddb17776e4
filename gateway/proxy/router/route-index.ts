/**
 * An index over a sorted route table, for tables too large to scan on every
 * request. It finds exactly the entry the table's linear scan would (the
 * first in table order that matches) while looking only at the entries that
 * can match: those for the request's host (exact, each of its wildcard
 * suffixes, any host), and within them those for its exact path, each of its
 * whole-segment prefixes, the regexes that can match it and every route
 * without a path. A regex anchored on a literal path (`^/users/[0-9]+$`) is
 * filed under the segments it spells out (`/users`); any other regex is tried
 * on every request, in order, as nginx tries its regex locations.
 */
import type { LinearRegex } from './linear-regex.ts';

export type PathMatcher =
  | { kind: 'exact'; path: string }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'regex'; re: LinearRegex };

export type HostMatcher = { kind: 'any' } | { kind: 'exact'; host: string } | { kind: 'wildcard'; suffix: string };

/** What the index needs of a table entry; `pos` is its place in the table's order (lower wins). */
export interface IndexedEntry {
  pos: number;
  host: HostMatcher;
  path: PathMatcher | undefined;
}

/** The entries of one host key, by path; every list is in table order. */
class PathBuckets<E extends IndexedEntry> {
  readonly exact = new Map<string, E[]>();
  readonly prefix = new Map<string, E[]>();
  /** Regexes by literalSegments. */
  readonly anchored = new Map<string, E[]>();
  readonly regex: E[] = [];
  readonly none: E[] = [];

  add(e: E): void {
    const p = e.path;
    if (p === undefined) this.none.push(e);
    else if (p.kind === 'regex') {
      // A case-insensitive table matches lower-cased paths: file its regexes under lower-cased segments.
      const literal = literalSegments(p.re.source);
      const key = p.re.ignoreCase ? literal?.toLowerCase() : literal;
      if (key === undefined) this.regex.push(e);
      else push(this.anchored, key, e);
    } else if (p.kind === 'exact') push(this.exact, p.path, e);
    else push(this.prefix, p.prefix, e);
  }
}

/**
 * The whole segments every path a regex matches starts with, when its source
 * (as written, `/` or `\/`) spells them out: `^\/users\/[0-9]+$`
 * → `/users` (a match starts with `/users/`). Undefined when it does not: no
 * `^/`, an alternation anywhere, or a literal shorter than one segment and its slash.
 */
export function literalSegments(source: string): string | undefined {
  if (source.includes('|')) return undefined;
  let literal = '';
  let i = 1;
  if (source[0] !== '^') return undefined;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\' && source[i + 1] === '/') {
      literal += '/';
      i += 2;
    } else if (/[A-Za-z0-9_~%-]/.test(c) || c === '/') {
      literal += c;
      i++;
    } else break;
  }
  // A quantifier makes the character before it optional or repeated: it is not part of the literal.
  if (i < source.length && '?*+{'.includes(source[i])) literal = literal.slice(0, -1);
  if (literal[0] !== '/') return undefined;
  const slash = literal.lastIndexOf('/');
  return slash > 0 ? literal.slice(0, slash) : undefined;
}

function push<E>(map: Map<string, E[]>, key: string, e: E): void {
  const list = map.get(key);
  if (list) list.push(e);
  else map.set(key, [e]);
}

/** Whether an entry whose host and path match takes the request `q` (its methods and header conditions). */
export type Accept<E, Q> = (e: E, q: Q) => boolean;

export class RouteIndex<E extends IndexedEntry, Q> {
  private readonly exactHost = new Map<string, PathBuckets<E>>();
  private readonly wildcard = new Map<string, PathBuckets<E>>();
  private readonly anyHost = new PathBuckets<E>();
  private readonly accept: Accept<E, Q>;

  /** `entries` in table order. */
  constructor(entries: readonly E[], accept: Accept<E, Q>) {
    this.accept = accept;
    for (const e of entries) {
      const h = e.host;
      const buckets =
        h.kind === 'any'
          ? this.anyHost
          : h.kind === 'exact'
            ? bucketsOf(this.exactHost, h.host)
            : bucketsOf(this.wildcard, h.suffix);
      buckets.add(e);
    }
  }

  /**
   * The first entry in table order whose host and path match `host` (lower
   * case, no port), `hostWithPort` and `path` (normalised), and that takes
   * the request `q` (accept).
   */
  match(host: string, hostWithPort: string, path: string, q: Q): E | undefined {
    const accept = this.accept;
    let best: E | undefined;
    let b = this.exactHost.get(host);
    if (b) best = firstIn(b, path, best, accept, q);
    if (hostWithPort !== host) {
      b = this.exactHost.get(hostWithPort);
      if (b) best = firstIn(b, path, best, accept, q);
    }
    if (this.wildcard.size > 0) {
      // `*.example.com` (suffix `.example.com`) matches any host that ends with it and is longer: try every suffix
      // of the host that starts at a dot past its first character.
      for (let i = host.indexOf('.', 1); i !== -1; i = host.indexOf('.', i + 1)) {
        b = this.wildcard.get(host.slice(i));
        if (b) best = firstIn(b, path, best, accept, q);
      }
    }
    return firstIn(this.anyHost, path, best, accept, q);
  }
}

function bucketsOf<E extends IndexedEntry>(map: Map<string, PathBuckets<E>>, key: string): PathBuckets<E> {
  let b = map.get(key);
  if (!b) map.set(key, (b = new PathBuckets<E>()));
  return b;
}

/** `best`, or an entry of `b` ahead of it that matches. */
function firstIn<E extends IndexedEntry, Q>(
  b: PathBuckets<E>,
  path: string,
  best: E | undefined,
  accept: Accept<E, Q>,
  q: Q,
): E | undefined {
  if (b.exact.size > 0) best = firstOf(b.exact.get(path), path, best, accept, q);
  if (b.prefix.size > 0) {
    // A prefix matches whole segments (`/api` takes `/api` and `/api/x`, never `/apix`), and `/` takes every path:
    // the candidates are `/`, the path up to each later slash, and the whole path.
    if (path.charCodeAt(0) === 47 /* / */) best = firstOf(b.prefix.get('/'), path, best, accept, q);
    for (let i = path.indexOf('/', 1); i !== -1; i = path.indexOf('/', i + 1))
      best = firstOf(b.prefix.get(path.slice(0, i)), path, best, accept, q);
    if (path !== '/') best = firstOf(b.prefix.get(path), path, best, accept, q);
  }
  if (b.anchored.size > 0) {
    for (let i = path.indexOf('/', 1); i !== -1; i = path.indexOf('/', i + 1))
      best = firstOf(b.anchored.get(path.slice(0, i)), path, best, accept, q);
  }
  best = firstOf(b.regex, path, best, accept, q);
  return firstOf(b.none, path, best, accept, q);
}

/** The first entry of `list` (in table order) ahead of `best` that matches, else `best`. */
function firstOf<E extends IndexedEntry, Q>(
  list: E[] | undefined,
  path: string,
  best: E | undefined,
  accept: Accept<E, Q>,
  q: Q,
): E | undefined {
  if (list === undefined) return best;
  const limit = best === undefined ? Infinity : best.pos;
  for (const e of list) {
    if (e.pos >= limit) break;
    const p = e.path;
    if (p !== undefined && p.kind === 'regex' && !p.re.test(path)) continue;
    if (accept(e, q)) return e;
  }
  return best;
}
