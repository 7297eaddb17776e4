import type { IncomingHttpHeaders } from 'node:http';
import type { Config, RouteConfig } from '../../control/config/schema.ts';
import { RouteIndex, type HostMatcher, type PathMatcher } from './route-index.ts';
import { runAtOnce, type Steps } from '../slices.ts';
import { LinearRegex } from './linear-regex.ts';

export interface RouteMatch<R> {
  route: R;
  /** The matched prefix (prefix paths only), for strip_prefix. */
  prefix: string;
}

interface Entry<R> {
  route: R;
  /** Place in the sorted table. */
  pos: number;
  host: HostMatcher;
  path: PathMatcher | undefined;
  methods: ReadonlySet<string> | undefined;
  headers: [string, string | LinearRegex][];
  rank: number[];
}

/** Path kind first (exact 3, prefix 2, regex 1, none 0), then its length. */
const pathKindRank = (p: PathMatcher | undefined): number =>
  !p ? 0 : p.kind === 'exact' ? 3 : p.kind === 'prefix' ? 2 : 1;
const pathLengthRank = (p: PathMatcher | undefined): number =>
  !p ? 0 : p.kind === 'exact' ? p.path.length : p.kind === 'prefix' ? p.prefix.length : 0;

/** `foldCase`: match ignoring ASCII case (proxy.paths.case_sensitive: false); requests are then matched lower-cased. */
function parsePath(p: string, foldCase: boolean): PathMatcher {
  if (p.startsWith('~')) return { kind: 'regex', re: new LinearRegex(p.slice(1), foldCase) };
  const path = foldCase ? p.toLowerCase() : p;
  if (path.startsWith('=')) return { kind: 'exact', path: path.slice(1) };
  return { kind: 'prefix', prefix: path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path };
}

function parseHost(h: string): HostMatcher {
  // Requests are matched lower-cased and without a trailing dot (route-match), so the config is read the same way.
  const host = h.toLowerCase().replace(/\.(?=:|$)/, '');
  return host.startsWith('*.') ? { kind: 'wildcard', suffix: host.slice(1) } : { kind: 'exact', host };
}

/** The build yields after every so many routes (RouteTable.build). */
const ROUTES_PER_STEP = 500;

interface Built<R> {
  entries: Entry<R>[];
  index: RouteIndex<Entry<R>, Request> | undefined;
  foldCase: boolean;
}

function* tableSteps<R>(
  routes: { route: R; config: RouteConfig }[],
  indexFrom: number,
  foldCase: boolean,
): Steps<Built<R>> {
  const entries: Entry<R>[] = [];
  let order = 0;
  let built = 0;
  for (const { route, config } of routes) {
    const hosts = config.hosts.length ? config.hosts.map(parseHost) : [{ kind: 'any' } as HostMatcher];
    const paths = config.paths.length ? config.paths.map((p) => parsePath(p, foldCase)) : [undefined];
    const methods = config.methods.length ? new Set(config.methods) : undefined;
    const headers = Object.entries(config.headers).map(([k, v]): [string, string | LinearRegex] => [
      k.toLowerCase(),
      v.startsWith('~') ? new LinearRegex(v.slice(1)) : v,
    ]);
    for (const host of hosts) {
      for (const path of paths) {
        // Host kind (exact 2, wildcard 1, any 0), then a wildcard's suffix length; built without spreads, as
        // a 5,000-service reload builds 15,000 of these on the event loop.
        const hostKind = host.kind === 'exact' ? 2 : host.kind === 'wildcard' ? 1 : 0;
        const hostLength = host.kind === 'wildcard' ? host.suffix.length : 0;
        const conditions = (methods ? 1 : 0) + headers.length;
        entries.push({
          route,
          pos: 0,
          host,
          path,
          methods,
          headers,
          rank: [config.priority, hostKind, hostLength, pathKindRank(path), pathLengthRank(path), conditions, -order++],
        });
      }
    }
    if (++built % ROUTES_PER_STEP === 0) yield;
  }
  yield;
  entries.sort((a, b) => {
    for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return b.rank[i] - a.rank[i];
    return 0;
  });
  entries.forEach((e, i) => {
    e.pos = i;
  });
  yield;
  return { entries, index: entries.length >= indexFrom ? new RouteIndex(entries, accepts) : undefined, foldCase };
}

/**
 * Route selection, in this order (the first that differs decides):
 * 1. `priority`, higher first;
 * 2. host: exact, then wildcard (longer suffix first), then routes without hosts;
 * 3. path: exact, then prefix (longest first), then regex, then routes without paths;
 * 4. more conditions (methods, headers) first;
 * 5. config order.
 * Entries are sorted once at compile; a match is the first entry in that
 * order that matches. A small table is scanned; one of INDEX_FROM entries or
 * more is looked up in a RouteIndex, which finds the same entry.
 */
export class RouteTable<R> {
  private readonly entries: Entry<R>[];
  private readonly index: RouteIndex<Entry<R>, Request> | undefined;
  private readonly foldCase: boolean;

  /** `indexFrom`: the entry count from which the index is used (tests force it either way). */
  constructor(
    routes: { route: R; config: RouteConfig }[],
    indexFrom = INDEX_FROM,
    built: Built<R> = runAtOnce(tableSteps(routes, indexFrom, false)),
  ) {
    this.entries = built.entries;
    this.index = built.index;
    this.foldCase = built.foldCase;
  }

  /**
   * The table of `routes`, built in steps (slices.ts): a reload of 10,000 routes took ~12-20 ms here in one go.
   * `foldCase`: paths match ignoring ASCII case (canonical paths hold no other letters).
   */
  static *build<R>(
    routes: { route: R; config: RouteConfig }[],
    indexFrom = INDEX_FROM,
    foldCase = false,
  ): Steps<RouteTable<R>> {
    return new RouteTable(routes, indexFrom, yield* tableSteps(routes, indexFrom, foldCase));
  }

  /** `host` is lower-cased without port; `hostWithPort` as sent; `path` canonical (lower-cased here when the table
   * folds case). */
  match(
    method: string,
    host: string,
    hostWithPort: string,
    path: string,
    headers: IncomingHttpHeaders,
  ): RouteMatch<R> | undefined {
    if (this.foldCase) path = path.toLowerCase();
    if (this.index !== undefined) {
      const e = this.index.match(host, hostWithPort, path, { method, headers });
      if (e === undefined) return undefined;
      return { route: e.route, prefix: e.path?.kind === 'prefix' ? e.path.prefix : '' };
    }
    for (const e of this.entries) {
      const h = e.host;
      if (h.kind === 'exact') {
        if (h.host !== host && h.host !== hostWithPort) continue;
      } else if (h.kind === 'wildcard') {
        if (!(host.endsWith(h.suffix) && host.length > h.suffix.length)) continue;
      }
      let prefix = '';
      const p = e.path;
      if (p) {
        if (p.kind === 'prefix') {
          if (!path.startsWith(p.prefix)) continue;
          // Prefixes match whole segments: /api matches /api and /api/x, never /apix.
          if (path.length > p.prefix.length && p.prefix !== '/' && path.charCodeAt(p.prefix.length) !== 47) continue;
          prefix = p.prefix;
        } else if (p.kind === 'exact') {
          if (path !== p.path) continue;
        } else if (!p.re.test(path)) continue;
      }
      if (e.methods && !e.methods.has(method)) continue;
      if (e.headers.length && !matchHeaders(e.headers, headers)) continue;
      return { route: e.route, prefix };
    }
    return undefined;
  }
}

/**
 * From this many entries a table is indexed. Per match, scanned against
 * indexed (test/bench/router.bench.ts, 2026-11-24): 32 ns / 113 at 4 prefix
 * routes, 169 / 130 at 32, 307 / 137 at 64, 57,866 / 214 at 10,000; tables
 * mixing hosts, exact paths and regexes break even at ~64.
 */
export const INDEX_FROM = 48;

interface Request {
  method: string;
  headers: IncomingHttpHeaders;
}

/** The conditions beyond host and path (RouteIndex's accept). */
function accepts<R>(e: Entry<R>, q: Request): boolean {
  if (e.methods && !e.methods.has(q.method)) return false;
  return e.headers.length === 0 || matchHeaders(e.headers, q.headers);
}

function matchHeaders(wanted: [string, string | LinearRegex][], headers: IncomingHttpHeaders): boolean {
  for (const [name, want] of wanted) {
    const raw = headers[name];
    if (raw === undefined) return false;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (typeof want === 'string' ? value !== want : !want.test(value)) return false;
  }
  return true;
}

export type { Config };
