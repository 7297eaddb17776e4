import type { EdgeStage } from '../../pipeline.ts';
import { plainPath } from '../../router/canonical-path.ts';
import { resolvePath, type Found } from './path.ts';
import type { IncomingHttpHeaders } from 'node:http';
import type { Snapshot } from '../../snapshot.ts';
import { corsRoutes } from '../cors/index.ts';
import { validHost } from '../request-id/index.ts';
import { tokenEndpoints } from '../token-endpoint/index.ts';

/** Lower-cased Host header → host without port. Handles `[v6]:port`, a bare host and a missing Host. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  let end = header.length;
  if (header.charCodeAt(0) === 91 /* [ */) {
    const close = header.indexOf(']');
    end = close === -1 ? header.length : close + 1;
  } else {
    const colon = header.indexOf(':');
    if (colon !== -1) end = colon;
  }
  return header.slice(0, end);
}

/**
 * absolute-form target (RFC 9112 3.2.2): `http://authority/path?q` → authority and origin-form; undefined when it is
 * malformed or its authority is no valid host (the caller answers 400). The authority then stands for Host.
 */
export function splitAbsoluteForm(url: string): { authority: string; path: string } | undefined {
  const m = /^https?:\/\/([^/?#@\s]+)((?:[/?][^#\s]*)?)$/i.exec(url);
  if (!m || !validHost(m[1])) return undefined;
  const rest = m[2] || '/';
  return { authority: m[1], path: rest.charCodeAt(0) === 47 ? rest : '/' + rest };
}

/** The route of a request; a CORS preflight belongs to the route of the request it asks about, which rarely lists
 * OPTIONS. */
function findRoute(
  snapshot: Snapshot,
  method: string,
  host: string,
  hostLower: string,
  path: string,
  headers: IncomingHttpHeaders,
): Found {
  const found = snapshot.table.match(method, host, hostLower, path, headers);
  if (found || method !== 'OPTIONS') return found;
  const asked = headers['access-control-request-method'];
  if (asked === undefined || headers.origin === undefined) return undefined;
  const m = snapshot.table.match(asked, host, hostLower, path, headers);
  return m && corsRoutes.has(m.route) ? m : undefined;
}

/**
 * What a 405 for TRACE lists: a route that takes any method takes every
 * method but TRACE (and CONNECT, which never gets this far).
 */
export const ALLOW_BUT_TRACE = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

export const routeMatch: EdgeStage = {
  name: 'route-match',
  scope: 'edge',
  init: (snapshot) => {
    const listener = snapshot.config.proxy.paths;
    // The gateway's own endpoints, for a target that is one of their paths only as routing reads it.
    const ownPath = tokenEndpoints(snapshot)?.byPath;
    return (ctx) => {
      const req = ctx.req;
      let url = req.url ?? '/';
      const absolute = url.charCodeAt(0) !== 47; /* / */
      // The Host header and the request line were checked at the edge (request-id stage).
      if (absolute) {
        // A server must accept absolute-form; its authority then replaces Host.
        const abs = splitAbsoluteForm(url);
        if (!abs) return ctx.reply('GW_ERR_BAD_REQUEST');
        req.headers.host = abs.authority;
        url = abs.path;
      }
      const hostHeader = req.headers.host;
      const q = url.indexOf('?');
      const rawPath = q === -1 ? url : url.slice(0, q);
      ctx.query = q === -1 ? '' : url.slice(q + 1);
      ctx.originalPath = rawPath;
      let hostLower = hostHeader ? hostHeader.toLowerCase() : '';
      ctx.host = hostOf(hostLower);
      // `api.example.com.` is the same name, fully qualified (nginx drops the dot too).
      if (ctx.host.length > 1 && ctx.host.charCodeAt(ctx.host.length - 1) === 46 /* . */) {
        const bare = ctx.host.slice(0, -1);
        hostLower = bare + hostLower.slice(ctx.host.length);
        ctx.host = bare;
      }
      const method = req.method ?? 'GET';
      let m: Found;
      if (plainPath(rawPath)) {
        ctx.path = rawPath;
        if (absolute && ownPath?.(ctx) === false) return false;
        m = findRoute(snapshot, method, ctx.host, hostLower, rawPath, req.headers);
      } else {
        const find = (path: string) => findRoute(snapshot, method, ctx.host, hostLower, path, req.headers);
        const resolved = resolvePath(rawPath, listener, find);
        if (typeof resolved === 'string') return ctx.reply(resolved);
        ctx.path = resolved.path;
        ctx.forwardPath = resolved.forwardPath;
        if (ownPath?.(ctx) === false) return false;
        m = resolved.match;
      }
      if (!m) return ctx.reply('GW_ERR_NO_ROUTE');
      // The upstream would echo TRACE back whole, with the headers the gateway
      // adds on the way (X-Forwarded-*, a route's request_headers, which may
      // carry an upstream credential): only a route that lists TRACE gets it.
      if (method === 'TRACE' && !m.route.config.methods.includes('TRACE')) {
        ctx.route = m.route;
        return ctx.reply('GW_ERR_METHOD_NOT_ALLOWED', { allow: ALLOW_BUT_TRACE });
      }
      ctx.route = m.route;
      ctx.matchedPrefix = m.prefix;
    };
  },
};
