import { asksForWebSocket, badHandshake } from '../../websocket/handshake.ts';
import type { EdgeStage } from '../../pipeline.ts';
import type { RequestContext } from '../../context.ts';
import type { ErrorCode } from '../../../errors.ts';
import { randomUuid } from '../../../../shared/uuid-text.ts';

/** A client-sent id is kept only when it is short and plain, so it is safe in logs and headers. */
const VALID_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

export function acceptRequestId(value: string | string[] | undefined): string {
  return typeof value === 'string' && VALID_ID.test(value) ? value : randomUuid();
}

/**
 * RFC 3986 host (reg-name, IPv4 or an IP literal) with an optional port;
 * nothing that could end a path or a header. As nginx, no empty label (`..`,
 * a leading dot) and, unlike RFC 3986, no escapes: `%61pi.example.com` would
 * be a second spelling of a name routes match on. One trailing dot is the
 * fully qualified name, which route-match reads without it.
 */
const LABEL = "[A-Za-z0-9_~!$&'()*+,;=-]+";
const VALID_HOST = new RegExp(`^(?:\\[[0-9A-Fa-f:.]+\\]|(?:${LABEL}(?:\\.${LABEL})*\\.?)?)(?::[0-9]*)?$`);

export const validHost = (host: string): boolean => VALID_HOST.test(host);

/** Counts Host fields as sent; Node keeps only the first, so a second would go unseen. */
function hostFields(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i];
    if (k.length === 4 && (k === 'Host' || k === 'host' || k.toLowerCase() === 'host')) n++;
  }
  return n;
}

/**
 * An HTTP/2 request's own checks: Node refuses what RFC 9113 8.2.2 forbids
 * (connection-specific fields, a TE other than trailers) with a stream error
 * before it is a request. Host and :authority must name the same host when
 * both are sent (RFC 9113 8.3.1), or routing and the upstream could each
 * read another; the request class set Host from :authority when it was absent. Its method is one Node's HTTP/1.1
 * parser takes (http.METHODS), as over HTTP/1.1: any token came through and went upstream, and one of 5,000
 * characters made the request's access event too long to record. A CONNECT is refused as over HTTP/1.1, unless it
 * opens a WebSocket (RFC 8441).
 */
function malformedHttp2(req: RequestContext['req']): [ErrorCode, Record<string, string>?] | undefined {
  const method = req.method ?? '';
  if (!HTTP1_METHODS.has(method) || (method === 'CONNECT' && req.headers[':protocol'] !== 'websocket'))
    return ['GW_ERR_METHOD_NOT_SUPPORTED'];
  // A WebSocket over HTTP/2 has no key to check (RFC 8441 5), only the version.
  if (req.headers[':protocol'] === 'websocket' && req.headers['sec-websocket-version'] !== '13')
    return ['GW_ERR_WEBSOCKET_VERSION', { 'sec-websocket-version': '13' }];
  const host = req.headers.host;
  const authority = req.headers[':authority'];
  if (host === undefined) return undefined;
  if (hostFields(req.rawHeaders) > 1 || !validHost(host)) return ['GW_ERR_BAD_REQUEST'];
  if (authority !== undefined && (authority as string).toLowerCase() !== host.toLowerCase())
    return ['GW_ERR_BAD_REQUEST'];
  if (req.url?.includes('#')) return ['GW_ERR_BAD_REQUEST'];
  return undefined;
}

/**
 * What every request must be before any stage acts on it (the token
 * endpoint included), refused the way nginx and HAProxy refuse it. Node's
 * parser lets all of these through.
 */
function malformed(req: RequestContext['req']): [ErrorCode, Record<string, string>?] | undefined {
  // `HTTP/2.0` and `HTTP/0.9` request lines (with headers, and 2.0 needing no
  // Host) are not HTTP/1.x; nginx answers 505 and 400.
  const major = req.httpVersionMajor;
  if (major !== 1) return [major > 1 ? 'GW_ERR_HTTP_VERSION_NOT_SUPPORTED' : 'GW_ERR_BAD_REQUEST', CLOSE];
  // A fragment is not part of a request target (RFC 9112 3.2). Kept, it would
  // sit in the path matched against routes while the upstream drops it:
  // `/admin#` would pass a `=/admin` route's access rules by matching another
  // route (HAProxy CVE-2023-45539).
  if (req.url?.includes('#')) return ['GW_ERR_BAD_REQUEST'];
  // Two Hosts would let routing and the upstream disagree on the host (RFC 9112 3.2).
  if (hostFields(req.rawHeaders) > 1) return ['GW_ERR_BAD_REQUEST', CLOSE];
  const host = req.headers.host;
  if (host === undefined) {
    if (req.httpVersionMinor >= 1) return ['GW_ERR_BAD_REQUEST', CLOSE];
  } else if (!validHost(host)) return ['GW_ERR_BAD_REQUEST', CLOSE];
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    // nginx: 501 for any coding but chunked; HTTP/1.0 has no chunked framing
    // at all. Refused here, before routing, so an unrouted request cannot
    // leave such a body behind on a kept-alive connection.
    if (te.toLowerCase() !== 'chunked') return ['GW_ERR_UNSUPPORTED_TRANSFER_ENCODING', CLOSE];
    if (req.httpVersionMinor === 0) return ['GW_ERR_AMBIGUOUS_FRAMING', CLOSE];
  }
  // A WebSocket handshake the listener took as an upgrade is checked, then proxied (websocket/tunnel.ts). One it
  // did not take (no `Connection: upgrade`) would reach the upstream as a plain GET, Upgrade being hop-by-hop, and
  // the client would get that GET's answer: it is refused instead. Other upgrades (h2c) are ignored and the
  // request served over HTTP/1.1, as RFC 9110 7.8 allows.
  if ((req as { upgrade?: boolean }).upgrade === true) return badHandshake(req);
  if (asksForWebSocket(req.headers.upgrade)) return ['GW_ERR_UPGRADE_NOT_SUPPORTED'];
  return undefined;
}

const CLOSE = { connection: 'close' };
// process.getBuiltinModule, not an ES import: importing from node:http evaluates its lazy exports (WebSocket among
// them), which loads Node's bundled undici (gateway/process/footprint.test.ts).
const HTTP1_METHODS: ReadonlySet<string> = new Set(process.getBuiltinModule('node:http').METHODS);

export const requestId: EdgeStage = {
  name: 'request-id',
  scope: 'edge',
  init: () => (ctx) => {
    ctx.requestId = acceptRequestId(ctx.req.headers['x-request-id']);
    const refusal = ctx.protocol === 'h2' ? malformedHttp2(ctx.req) : malformed(ctx.req);
    if (refusal) return ctx.reply(refusal[0], refusal[1]);
  },
};
