import { type AccessEvent, type ErrorClass, PLAIN_HTTP1, type Protocol } from '../../../shared/access-event.ts';
import { newEventId } from '../../../shared/access-event-id.ts';
import { decode, encodeFields } from '../../../shared/access-event-codec.ts';
import type { Reported, RequestContext } from '../context.ts';
import type { CountingRequest } from '../net/counting-request.ts';
import { errors, type ErrorCode } from '../../errors.ts';
import { serverSpan, trustsIncoming } from '../tracing/spans.ts';
import type { OpenEvents } from './request-events.ts';
import { wallClock } from '../../../shared/wall-clock.ts';

/**
 * The trace id of a W3C `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`) whose caller recorded the trace (the
 * sampled flag set), or ''.
 */
export function traceIdOf(header: string | string[] | undefined): string {
  if (typeof header !== 'string' || header.length < 55 || header.charCodeAt(2) !== 45 /* - */) return '';
  const flags = hexValue(header.charCodeAt(54)); // the flags' low digit: odd when sampled
  if (flags < 0 || (flags & 1) === 0) return '';
  // A loop, not a regex on a slice: this runs for every traced request.
  let nonZero = false;
  for (let i = 3; i < 35; i++) {
    const v = hexValue(header.charCodeAt(i));
    if (v < 0) return '';
    if (v > 0) nonZero = true;
  }
  return nonZero ? header.slice(3, 35) : '';
}

/** A lowercase hex digit's value, else -1. */
const hexValue = (c: number): number => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);

/**
 * A request's trace id when its trace is recorded, so that every id an event, the access log, the console or a
 * report shows can be opened in the tracing backend: its server span's while tracing is on and the span is sampled,
 * else a trusted traceparent's that the caller sampled, else ''.
 */
export function traceIdFor(ctx: RequestContext): string {
  const span = serverSpan(ctx);
  if (span !== undefined) {
    const sc = span.spanContext();
    return (sc.traceFlags & 1) === 1 ? sc.traceId : '';
  }
  return trustsIncoming(ctx) ? traceIdOf(ctx.req.headers.traceparent) : '';
}

/**
 * The fact of one finished request, encoded as a view of the codec's buffer that the next encode
 * overwrites: the sinks copy it into their log at once. No AccessEvent is built on the way (see encodeFields).
 * Times are whole microseconds; the codec takes integers only. Throws RangeError for what the codec refuses.
 * `cut`: the request is not over, and this is the event it gets should the gateway end first, with this error class
 * (cutRecord).
 */
export function requestRecord(
  ctx: RequestContext,
  status: number,
  seconds: number,
  node: string,
  cut?: ErrorClass,
): Buffer {
  const totalUs = Math.round(seconds * 1e6);
  const upstreamUs = Math.min(totalUs, Math.round(ctx.upstreamMs * 1000));
  const route = ctx.route;
  // A request that stayed open past events.interim_ms: its interim events carried the rest.
  const reported = ctx.reported;
  return encodeFields(
    undefined,
    Math.round(wallClock.at(ctx.startMs)),
    node,
    ctx.appId,
    route ? route.service.name : '',
    route ? route.name : '',
    methodOf(ctx),
    status,
    ctx.upstreamStatus,
    totalUs,
    upstreamUs,
    totalUs - upstreamUs,
    since(ctx.bytesIn, reported?.bytesIn),
    since(ctx.bytesOut, reported?.bytesOut),
    ctx.clientIp,
    ctx.target ? ctx.target.id : '',
    cut ?? ctx.errorClass(status),
    traceIdFor(ctx),
    protocolOf(ctx),
    ctx.tlsVersion,
    ctx.grpcStatus,
    ctx.grpc ? grpcMethodOf(ctx.path) : '',
    since(ctx.messagesIn?.count ?? 0, reported?.messagesIn),
    since(ctx.messagesOut?.count ?? 0, reported?.messagesOut),
    cut === undefined ? (ctx.closed?.code ?? 0) : ctx.websocket ? CLOSED_ABNORMALLY : 0,
    cut === undefined ? (ctx.closed?.reason ?? '') : GATEWAY_ENDED,
    false,
  );
}

/** The close reason of a request or connection the gateway's end cut (killed, crashed): unfinished.ts. */
export const GATEWAY_ENDED = 'gateway_ended';
/** WebSocket's code for a connection that ended without a close frame (RFC 6455, 7.1.5). */
const CLOSED_ABNORMALLY = 1006;

/**
 * The final event of a request still open at `nowMs` (performance.now()), right after its interim event (or once open
 * KEEP_CUT_AFTER_MS, before the first), should the gateway end (killed, crashed) before the request does: the request
 * alone at its start, as its final event would be (its interim events carried its traffic; before any, it carries
 * what moved so far), with its status so far (101 for a WebSocket; 500, the gateway's failure, before an answer
 * began), closed for `gateway_ended` (1006 for a WebSocket). Kept by unfinished.ts, and in the log only after such
 * an end.
 */
export function cutRecord(ctx: RequestContext, node: string, nowMs: number): Buffer {
  const begun = ctx.websocket || ctx.res.headersSent;
  const status = ctx.websocket ? 101 : begun ? ctx.res.statusCode : 500;
  return requestRecord(ctx, status, (nowMs - ctx.startMs) / 1000, node, begun ? ctx.errorClass(status) : 'internal');
}

/**
 * A count since the request's last interim event. Never below 0: the codec refuses a negative number, and an event it
 * refuses would leave the request uncounted.
 */
const since = (now: number, reported = 0): number => (now > reported ? now - reported : 0);

/** The protocol an event names: gRPC (gRPC-Web too) and WebSocket over the HTTP version they came on. */
function protocolOf(ctx: RequestContext): Protocol {
  return ctx.grpc ? 'grpc' : ctx.websocket ? 'websocket' : ctx.protocol;
}

/**
 * An interim event of a request still open at `nowMs` (performance.now()): a WebSocket connection, a gRPC stream, a
 * long download or upload. It carries the bytes and messages since the request's previous event, placed at that
 * moment, and is never a request (the final event is). Its status is the response's once it started (101 for a
 * WebSocket), else 0.
 */
export function interimRecord(ctx: RequestContext, node: string, nowMs: number): Buffer {
  const route = ctx.route;
  const last = ctx.reported;
  // A body still arriving is counted as the parser read it, as the final event counts one that never ended.
  const bytesIn = ctx.websocket || ctx.req.complete ? ctx.bytesIn : (ctx.req as CountingRequest).bodyBytes;
  const now: Reported = {
    atMs: nowMs,
    // Never back: what an event carried is not carried again.
    bytesIn: Math.max(bytesIn, last?.bytesIn ?? 0),
    bytesOut: ctx.bytesOut,
    messagesIn: ctx.messagesIn?.count ?? 0,
    messagesOut: ctx.messagesOut?.count ?? 0,
  };
  const status = ctx.websocket ? 101 : ctx.res.headersSent ? ctx.res.statusCode : 0;
  const record = encodeFields(
    undefined,
    Math.round(wallClock.at(nowMs)),
    node,
    ctx.appId,
    route ? route.service.name : '',
    route ? route.name : '',
    methodOf(ctx),
    status,
    ctx.websocket ? 101 : ctx.upstreamStatus,
    Math.round((nowMs - ctx.startMs) * 1000),
    0,
    0,
    since(now.bytesIn, last?.bytesIn),
    since(now.bytesOut, last?.bytesOut),
    ctx.clientIp,
    ctx.target ? ctx.target.id : '',
    'none',
    traceIdFor(ctx),
    protocolOf(ctx),
    ctx.tlsVersion,
    -1,
    ctx.grpc ? grpcMethodOf(ctx.path) : '',
    since(now.messagesIn, last?.messagesIn),
    since(now.messagesOut, last?.messagesOut),
    0,
    '',
    true,
  );
  ctx.reported = now;
  return record;
}

/**
 * The last interim event of a request that had some, placed at its end (`endMs`, performance.now()) with what it moved
 * since the previous one, so that this too counts in the hour it flowed: its final event is then the request alone,
 * at its start. Undefined when it had no interim event or nothing moved since.
 */
export function tailRecord(ctx: RequestContext, node: string, endMs: number): Buffer | undefined {
  const last = ctx.reported;
  if (last === undefined) return undefined;
  const moved =
    ctx.bytesIn > last.bytesIn ||
    ctx.bytesOut > last.bytesOut ||
    (ctx.messagesIn?.count ?? 0) > last.messagesIn ||
    (ctx.messagesOut?.count ?? 0) > last.messagesOut;
  return moved ? interimRecord(ctx, node, endMs) : undefined;
}

/**
 * How long a request or connection is open before its cut final event (cutRecord) is kept in unfinished.ts when no
 * interim event has come yet: one open a second or more is counted even if the gateway is killed before its first
 * interim event (events.interim_ms, a minute by default). Shorter ones are lost to a kill, as any request in flight.
 */
export const KEEP_CUT_AFTER_MS = 1000;

/**
 * Sends a request's interim event when events.interim_ms (of the config it started on) has passed since its last one,
 * or since `openedMs` before the first; before that, once it has been open KEEP_CUT_AFTER_MS, keeps its cut final
 * event. The one rule for open requests (open-requests.ts) and WebSocket tunnels.
 */
export function interimIfDue(ctx: RequestContext, events: OpenEvents, nowMs: number, openedMs = ctx.startMs): void {
  // Its final event is written (the response is ending): it carried the rest.
  if (ctx.eventSeconds >= 0) return;
  const sinceMs = nowMs - (ctx.reported?.atMs ?? openedMs);
  const cut = (node: string) => cutRecord(ctx, node, nowMs);
  if (sinceMs >= ctx.snapshot.config.events.interim_ms) {
    ctx.cutKept = true;
    events.interim(ctx, (node) => interimRecord(ctx, node, nowMs), cut);
  } else if (!ctx.cutKept && sinceMs >= KEEP_CUT_AFTER_MS) {
    ctx.cutKept = true;
    events.keep(ctx, cut);
  }
}

/**
 * A request's method as its event keeps it, cut to 32 characters: the longest Node's HTTP/1.1 parser takes has 11
 * (UNSUBSCRIBE). An HTTP/2 client may send any token, which the request-id stage refuses; counted all the same, it
 * must not make the event too long to encode (the codec refuses a field over MAX_FIELD_BYTES) and go uncounted.
 */
function methodOf(ctx: RequestContext): string {
  const method = ctx.req.method ?? '';
  return method.length > 32 ? method.slice(0, 32) : method;
}

/** Longest gRPC method an event keeps: real ones are far shorter, and a path a client made up must not make the
 * event unencodable (the codec refuses a field over MAX_FIELD_BYTES), which would leave the call uncounted. */
export const MAX_GRPC_METHOD_CHARS = 1024;

/** The call's path as its gRPC method, cut to MAX_GRPC_METHOD_CHARS (at most 3 UTF-8 bytes each, never half a pair). */
function grpcMethodOf(path: string): string {
  if (path.length <= MAX_GRPC_METHOD_CHARS) return path;
  const end = MAX_GRPC_METHOD_CHARS;
  const high = path.charCodeAt(end - 1);
  return path.slice(0, high >= 0xd800 && high <= 0xdbff ? end - 1 : end);
}

/** requestRecord's event as an object, with a new id (tests and tools; the request path sends the bytes). */
export function accessEvent(ctx: RequestContext, status: number, seconds: number, node: string): AccessEvent {
  return decode(requestRecord(ctx, status, seconds, node));
}

/** A request Node's parser refused before it became one (malformed, too large, too slow). */
export function rejectedEvent(code: ErrorCode, node: string, clientIp: string, tlsVersion: string): AccessEvent {
  return {
    id: newEventId(),
    startMs: Date.now(),
    node,
    appId: '',
    service: '',
    route: '',
    method: '',
    status: errors[code].status,
    upstreamStatus: 0,
    totalUs: 0,
    upstreamUs: 0,
    gatewayUs: 0,
    bytesIn: 0,
    bytesOut: 0,
    clientIp,
    target: '',
    errorClass: errors[code].errorClass,
    traceId: '',
    ...PLAIN_HTTP1,
    tlsVersion,
  };
}
