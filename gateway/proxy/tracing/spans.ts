/**
 * The spans of one request, made by the request path itself (no automatic instrumentation: measured in
 * docs/decisions/0012-tracing.md): a SERVER span from the request's start to its end, named by its route, and a
 * CLIENT span per upstream attempt, whose context goes upstream in `traceparent`. The server span is started the
 * first time something needs it (the proxy stage, or the access event of a request refused before it), with the
 * request's start as its start time. Attributes follow the OpenTelemetry HTTP and RPC semantic conventions.
 */
import {
  type Attributes,
  createTraceState,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
} from '@opentelemetry/api';
import type { TracingSdk } from '../../../shared/tracing/sdk.ts';
import {
  randomTraceparent,
  spanIdOfTraceparent,
  ZERO_SPAN,
  ZERO_TRACE,
} from '../../../shared/tracing/recorded-span.ts';
import type { RequestContext } from '../context.ts';
import type { Target } from '../upstream/target.ts';
import { addKnownHeaderNames } from '../upstream/undici.ts';
import type { StreamConnection } from '../streams/connection.ts';
import { UnsampledSpan } from './unsampled-span.ts';
import { wallClock } from '../../../shared/wall-clock.ts';

/** What the request path needs of tracing while it is on (tracing/runtime.ts keeps it on the Runtime). */
export type RequestTracing = Pick<TracingSdk, 'sampled' | 'startSpan'>;

// The gateway sets these on upstream requests while tracing: known to undici, their names are not checked each time.
addKnownHeaderNames(['traceparent', 'tracestate']);

const AUTH_REFUSALS: ReadonlySet<string> = new Set(['GW_ERR_UNAUTHORIZED', 'GW_ERR_FORBIDDEN', 'GW_ERR_APP_DISABLED']);
const LIMIT_REFUSALS: ReadonlySet<string> = new Set(['GW_ERR_RATE_LIMITED', 'GW_ERR_QUOTA_EXCEEDED']);

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The remote parent a W3C `traceparent` (version 00) names, with its `tracestate`; undefined when it is not valid. */
export function remoteParent(
  traceparent: string | string[] | undefined,
  tracestate: string | string[] | undefined,
): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const m = TRACEPARENT.exec(traceparent.trim());
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined;
  const state = typeof tracestate === 'string' && tracestate.length <= 512 ? tracestate : undefined;
  return {
    traceId: m[1],
    spanId: m[2],
    traceFlags: Number.parseInt(m[3], 16) & 1,
    isRemote: true,
    traceState: state === undefined ? undefined : createTraceState(state),
  };
}

/** Whether this request's incoming trace context is continued: the route's trust_trace_context, else tracing's. */
export function trustsIncoming(ctx: RequestContext): boolean {
  return ctx.route?.config.trust_trace_context ?? ctx.snapshot.config.tracing.trust_incoming;
}

/** The matched route as a template (semantic conventions' http.route): `/api/*` for the prefix `/api`. */
export function httpRoute(ctx: RequestContext): string | undefined {
  const route = ctx.route;
  if (route === undefined) return undefined;
  if (ctx.matchedPrefix !== '') return ctx.matchedPrefix === '/' ? '/*' : `${ctx.matchedPrefix}/*`;
  return route.config.paths.length === 1 ? route.config.paths[0] : undefined;
}

/** The request's server span, started on first use; undefined while tracing is off. */
export function serverSpan(ctx: RequestContext): Span | undefined {
  if (ctx.span !== undefined) return ctx.span;
  const tracing = ctx.snapshot.runtime.tracing;
  if (tracing === undefined) return undefined;
  const parent = trustsIncoming(ctx) ? remoteParent(ctx.headers.traceparent, ctx.headers.tracestate) : undefined;
  // Not sampled: a context to pass on (flags 00), and no SDK span at all, nor its name and attributes.
  if (!tracing.sampled(parent)) {
    const fresh = randomTraceparent();
    const traceparent = parent === undefined ? fresh : `00-${parent.traceId}-${spanIdOfTraceparent(fresh)}-00`;
    ctx.span = new UnsampledSpan(traceparent, parent?.traceState);
    return ctx.span;
  }
  const method = ctx.req.method ?? 'GET';
  const route = httpRoute(ctx);
  const grpcMethod = ctx.grpc ? ctx.path : undefined;
  const name = grpcMethod !== undefined ? grpcMethod.slice(1) : route !== undefined ? `${method} ${route}` : method;
  const attributes: Attributes = {
    'http.request.method': method,
    'url.scheme': ctx.tlsVersion === '' ? 'http' : 'https',
    'url.path': ctx.path,
    'server.address': ctx.host,
    'network.protocol.version': ctx.protocol === 'h2' ? '2' : '1.1',
    'client.address': ctx.clientIp,
  };
  if (route !== undefined) attributes['http.route'] = route;
  if (grpcMethod !== undefined) {
    const [, service = '', rpcMethod = ''] = grpcMethod.split('/');
    attributes['rpc.system'] = 'grpc';
    attributes['rpc.service'] = service;
    attributes['rpc.method'] = rpcMethod;
  }
  ctx.span = tracing.startSpan(name, SpanKind.SERVER, parent, wallClock.at(ctx.startMs), attributes);
  return ctx.span;
}

/**
 * A CLIENT span for one attempt at `target` (a retry is a second one), child of the server span, its context put in
 * the upstream request's `traceparent` and `tracestate`. A context the route does not trust goes no further, with
 * tracing off too: its traceparent, tracestate and baggage are not sent upstream.
 */
export function startAttempt(ctx: RequestContext, target: Target, attempt: number): Span | undefined {
  const headers = ctx.upstreamHeaders;
  const trusted = trustsIncoming(ctx);
  if (!trusted && headers.baggage !== undefined) delete headers.baggage;
  const server = serverSpan(ctx);
  if (server === undefined) {
    if (!trusted && headers.traceparent !== undefined) delete headers.traceparent;
    if (!trusted && headers.tracestate !== undefined) delete headers.tracestate;
    return undefined;
  }
  // An unsampled request's attempt is unsampled too, and nothing records either: its traceparent names the server
  // span, as a proxy that makes no client spans would.
  if (server instanceof UnsampledSpan) {
    setContextHeaders(headers, server.traceparent, server.traceState?.serialize());
    return undefined;
  }
  const attributes: Attributes = {
    'http.request.method': ctx.req.method ?? 'GET',
    'server.address': target.address,
    'server.port': target.port,
    'url.full': `${target.origin}${redactQuery(ctx.upstreamPath)}`,
    'tollgate.target': target.id,
  };
  if (attempt > 0) attributes['http.request.resend_count'] = attempt;
  const tracing = ctx.snapshot.runtime.tracing!;
  const now = wallClock.now();
  const span = tracing.startSpan(ctx.req.method ?? 'GET', SpanKind.CLIENT, server.spanContext(), now, attributes);
  const sc = span.spanContext();
  setContextHeaders(headers, `00-${sc.traceId}-${sc.spanId}-01`, sc.traceState?.serialize());
  return span;
}

/**
 * The upstream request's `traceparent`, and its `tracestate` or none. `delete` of a header that is not there (most
 * requests have no tracestate) takes ~50 ns, checking first ~2 (test/bench/tracing/delete-header.bench.ts).
 */
function setContextHeaders(headers: Record<string, string | string[]>, traceparent: string, state?: string): void {
  headers.traceparent = traceparent;
  if (state) headers.tracestate = state;
  else if (headers.tracestate !== undefined) delete headers.tracestate;
}

/** Ends an attempt's span with the upstream's status, or the error that ended it (error.type, and an error status). */
export function endAttempt(span: Span | undefined, status: number, error?: Error): void {
  if (span === undefined || !span.isRecording()) return;
  if (status > 0) span.setAttribute('http.response.status_code', status);
  if (error !== undefined || status >= 400) {
    const type = error ? ((error as NodeJS.ErrnoException).code ?? error.name) : String(status);
    span.setAttribute('error.type', type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message });
  }
  span.end();
}

/**
 * Ends the request's server span with what the request came to: its status (a 5xx is an error, a 4xx is not, as the
 * conventions have it for servers), its service, app and the gateway's decisions. Returns the trace id of a recorded
 * span, '' otherwise: the request is then its latency bucket's exemplar (route-stats.ts, tracing/openmetrics.ts).
 */
export function endServerSpan(ctx: RequestContext, status: number): string {
  const span = ctx.span ?? (ctx.snapshot.runtime.tracing ? serverSpan(ctx) : undefined);
  // An unsampled span records nothing: ending it would do nothing either.
  if (span === undefined || !span.isRecording()) return '';
  const route = ctx.route;
  const attributes: Attributes = { 'http.response.status_code': status };
  if (route !== undefined) {
    attributes['tollgate.service'] = route.service.name;
    attributes['tollgate.route'] = route.name;
    const template = httpRoute(ctx);
    if (template !== undefined) attributes['http.route'] = template;
  }
  if (ctx.appId !== '') attributes['tollgate.app'] = ctx.appId;
  const code = ctx.errorCode;
  if (code !== undefined) attributes['tollgate.error_code'] = code;
  const service = route?.service.config;
  // The gateway's decisions on the routes that make them.
  if (service?.auth !== undefined && service.auth.type !== 'none')
    attributes['tollgate.auth'] = code !== undefined && AUTH_REFUSALS.has(code) ? 'refused' : 'passed';
  if (service?.rate_limits !== undefined && service.rate_limits.length > 0)
    attributes['tollgate.rate_limit'] = code !== undefined && LIMIT_REFUSALS.has(code) ? 'limited' : 'allowed';
  if (ctx.grpc && ctx.grpcStatus >= 0) attributes['rpc.grpc.status_code'] = ctx.grpcStatus;
  span.setAttributes(attributes);
  if (status >= 500) {
    span.setAttribute('error.type', ctx.errorCode ?? String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
  return span.spanContext().traceId;
}

/**
 * A TCP connection's SERVER span, made when it ends (nothing comes in to continue: a stream reads no trace context),
 * from its accept to its end; returns its trace id for the access event, '' while tracing is off or when the
 * connection is not sampled.
 */
export function streamSpan(tracing: RequestTracing | undefined, c: StreamConnection): string {
  if (tracing === undefined || !tracing.sampled(undefined)) return '';
  const attributes: Attributes = {
    'network.transport': 'tcp',
    'client.address': c.clientIp,
    'client.port': c.clientPort,
    'tollgate.service': c.stream.name,
    'tollgate.stream.status': c.status,
    'tollgate.stream.bytes_in': c.bytesIn,
    'tollgate.stream.bytes_out': c.bytesOut,
  };
  if (c.route !== '') attributes['tollgate.route'] = c.route;
  if (c.target !== undefined) attributes['tollgate.target'] = c.target.id;
  if (c.tlsVersion !== '') attributes['tls.protocol.version'] = c.tlsVersion;
  const reason = c.reason ?? c.refusal;
  if (reason !== undefined) attributes['tollgate.close_reason'] = reason;
  const span = tracing.startSpan(
    `tcp ${c.stream.name}`,
    SpanKind.SERVER,
    undefined,
    wallClock.at(c.startMs),
    attributes,
  );
  if (c.errorCode !== undefined) {
    span.setAttribute('error.type', c.errorCode);
    if (c.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end(wallClock.at(c.endMs));
  return span.spanContext().traceId;
}

/** Query keys whose values the HTTP conventions (1.28 on) have redacted in `url.full`: signatures that grant access. */
const SIGNED = /([?&](?:AWSAccessKeyId|Signature|sig|X-Goog-Signature)=)[^&#]*/g;

/** `path?query` with the values of SIGNED keys as `REDACTED`; untouched (no allocation) without one. */
export function redactQuery(pathAndQuery: string): string {
  if (!pathAndQuery.includes('?') || !/AWSAccessKeyId|Signature|sig=/.test(pathAndQuery)) return pathAndQuery;
  return pathAndQuery.replace(SIGNED, '$1REDACTED');
}
