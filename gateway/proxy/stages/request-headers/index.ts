import type { IncomingHttpHeaders } from 'node:http';
import type { RouteStage } from '../../pipeline.ts';
import type { RequestContext } from '../../context.ts';
import { unmapIp } from '../../net/ip.ts';
import { addKnownHeaderNames } from '../../upstream/undici.ts';
import { viaEntries, viaEntry } from '../via/index.ts';
import { clientAddressOf } from '../../listeners/proxy-protocol.ts';
import { trustedProxies } from '../../net/cidr.ts';
import { forwardClientCert } from './client-cert.ts';
import { appHeaderOf } from '../authenticate/app-header.ts';

/** The headers this stage adds to every proxied request; undici then skips checking their names (~3,000 instructions
 * per request, callgrind). */
export const ADDED_HEADERS = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'x-request-id',
  'via',
] as const;
addKnownHeaderNames(ADDED_HEADERS);

/** RFC 9110 7.6.1 hop-by-hop headers, plus ones undici must not be handed (it frames the body itself). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Upgrade's companion (RFC 7540 3.2.1); HTTP/2 forbids it with the rest (RFC 9113 8.2.2): Node refuses to send it.
  'http2-settings',
  'proxy-authenticate',
  'proxy-authorization',
  'expect',
]);

/**
 * What a request must not tell its upstream, by whom. `always`: hop-by-hop headers (above), and those with which a
 * client could have the service act on another URL or method than the one the route's rules were checked against:
 * IIS's and Symfony's X-Original-URL and X-Rewrite-URL, and the method overrides of Express's method-override, Google's
 * APIs and others (an RBAC role allowed GET could send GET with `X-HTTP-Method-Override: DELETE`). `untrusted`: what
 * a proxy in front says of the client's connection, believed only from `trusted_proxies` (as X-Forwarded-For is):
 * RFC 7239 Forwarded and the X- headers frameworks build URLs and client addresses from (Spring, ASP.NET, Rails,
 * Django read them), which a client could otherwise set to any host, port, path prefix or address. X-Forwarded-For,
 * -Proto and -Host, and X-Real-IP are the gateway's own, set on every request.
 */
const OVERRIDES = ['x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override'];
const FORWARDING = [
  'forwarded',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-forwarded-server',
  'x-client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
];
const DROPPED = new Map<string, 'always' | 'untrusted'>([
  ...[...HOP_BY_HOP, ...OVERRIDES].map((name) => [name, 'always'] as const),
  ...FORWARDING.map((name) => [name, 'untrusted'] as const),
]);

/**
 * Copies end-to-end headers: drops hop-by-hop ones, any named in Connection, HTTP/2's pseudo-headers and the others
 * DROPPED names (those a proxy in front sets kept when `fromTrusted`). Host and
 * `own`, the header the gateway set itself (the authenticated app's), are kept whatever Connection names: a client
 * naming the app header there made the gateway drop it, and the upstream saw an authenticated request as one
 * without an app (as Traefik's X-Forwarded headers could be dropped, CVE-2024-45410); naming Host made a
 * preserve_host route send the target's name, so the upstream could pick another virtual host than routing did.
 */
export function endToEnd(
  headers: IncomingHttpHeaders,
  own?: string,
  fromTrusted = false,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = headers.connection;
  const named =
    conn && conn !== 'keep-alive' && conn !== 'close'
      ? new Set(
          conn
            .toLowerCase()
            .split(',')
            .map((s) => s.trim()),
        )
      : undefined;
  for (const name in headers) {
    const dropped = DROPPED.get(name);
    if ((dropped !== undefined && (dropped === 'always' || !fromTrusted)) || name.charCodeAt(0) === 0x3a /* : */)
      continue;
    if (named?.has(name) && name !== own && name !== 'host') continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

export function applyHeaderOps(
  headers: Record<string, string | string[] | number>,
  ops: { add: Record<string, string>; set: Record<string, string>; remove: string[] },
): void {
  for (const name of ops.remove) delete headers[name];
  for (const [name, value] of Object.entries(ops.set)) headers[name] = value;
  for (const [name, value] of Object.entries(ops.add)) {
    const cur = headers[name];
    headers[name] = cur === undefined ? value : Array.isArray(cur) ? [...cur, value] : [String(cur), value];
  }
}

/** What a route without header edits compiles to (most routes): one shared value, not three new objects each. */
const NO_OPS: { add: Record<string, string>; set: Record<string, string>; remove: string[] } = Object.freeze({
  add: Object.freeze({}),
  set: Object.freeze({}),
  remove: Object.freeze([]) as unknown as string[],
});

function lowerOps(ops: { add: Record<string, string>; set: Record<string, string>; remove: string[] }) {
  if (ops.remove.length === 0 && isEmpty(ops.add) && isEmpty(ops.set)) return NO_OPS;
  const lower = (r: Record<string, string>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
  return { add: lower(ops.add), set: lower(ops.set), remove: ops.remove.map((r) => r.toLowerCase()) };
}

const NO_PROXIES: readonly string[] = [];

export const requestHeaders: RouteStage = {
  name: 'request-headers',
  scope: 'route',
  init: (route) => {
    const ops = lowerOps(route.config.request_headers);
    const hasOps = ops.remove.length + Object.keys(ops.add).length + Object.keys(ops.set).length > 0;
    const via = viaEntries(route.snapshotConfig.proxy.via);
    const trusted = trustedProxies(route.snapshotConfig.trusted_proxies ?? NO_PROXIES);
    // Set by the authenticate stage (and removed there from what the client sent) for every service.
    const appHeader = appHeaderOf(route.service.config.auth);
    return (ctx) => {
      // The hop we append is the socket peer, not ctx.clientIp (which client-ip may have taken from this very header).
      const peer = unmapIp(clientAddressOf(ctx.req.socket));
      const fromTrusted = trusted.size > 0 && trusted.contains(peer);
      const h = endToEnd(ctx.req.headers, appHeader, fromTrusted);
      const xff = h['x-forwarded-for'];
      h['x-forwarded-for'] = xff ? `${xff}, ${peer}` : peer;
      h['x-real-ip'] = ctx.clientIp;
      // A trusted proxy in front (a balancer that ended TLS) knows the scheme and host the client used.
      if (!fromTrusted || h['x-forwarded-proto'] === undefined)
        h['x-forwarded-proto'] = ctx.listener.tls ? 'https' : 'http';
      forwardClientCert(ctx, h, trusted);
      const host = ctx.req.headers.host;
      if (host && (!fromTrusted || h['x-forwarded-host'] === undefined)) h['x-forwarded-host'] = host;
      h['x-request-id'] = ctx.requestId;
      if (via !== undefined) {
        const entry = viaEntry(ctx, via);
        h.via = h.via ? `${h.via}, ${entry}` : entry;
      }
      // TE is hop-by-hop and dropped, but a gRPC server requires `te: trailers` of the call that reaches it.
      if (ctx.grpc) h.te = 'trailers';
      if (ctx.grpcWeb) translateGrpcWeb(ctx, h);
      if (hasOps) applyHeaderOps(h, ops);
      ctx.upstreamHeaders = h;
    };
  },
};

/**
 * A gRPC-Web call to an upstream that speaks HTTP/2 goes as gRPC: its content type, and in text mode no
 * Content-Length (the decoded body is shorter). An HTTP/1.1 upstream gets it as it came, for a service that serves
 * gRPC-Web itself.
 */
function translateGrpcWeb(ctx: RequestContext, h: Record<string, string | string[]>): void {
  const web = ctx.grpcWeb!;
  const upstream = ctx.upstream ?? ctx.route!.service.upstream;
  if (upstream.config.protocol === 'http/1.1') return;
  web.translated = true;
  h['content-type'] = web.grpcContentType;
  if (web.text) delete h['content-length'];
}

function isEmpty(r: Record<string, string>): boolean {
  for (const _ in r) return false;
  return true;
}

export { lowerOps };
