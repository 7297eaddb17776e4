import type { ErrorCode } from '../../../errors.ts';
import { isCertificateFailure } from '../../upstream/tls-errors.ts';
import { onReusedConnection } from '../../upstream/undici.ts';

/** Errors where the request never reached the target: safe to retry elsewhere for idempotent methods. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
  'TOLLGATE_CONNECT_TIMEOUT', // a stream's connect (streams/connection.ts)
  'EADDRNOTAVAIL',
]);

// The header, body-idle and total timeouts are the gateway's own (Exchange), not undici's.
const TIMEOUTS = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'TOLLGATE_CONNECT_TIMEOUT',
  'TOLLGATE_HEADERS_TIMEOUT',
  'TOLLGATE_BODY_IDLE_TIMEOUT',
  'TOLLGATE_TOTAL_TIMEOUT',
]);

/**
 * The request never reached the target: the connection failed, or the
 * target's certificate failed the gateway's checks (Node refuses it before
 * undici writes a byte), as nginx's proxy_next_upstream `error` counts a
 * failed TLS handshake. A certificate failure still answers 502 GW_ERR_BAD_GATEWAY.
 */
export function isConnectFailure(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return CONNECT_FAILURES.has(code) || isCertificateFailure(code);
}

/** A connection that broke, reset or closed by the target, as opposed to an answer that was wrong or late. */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * A kept-alive connection the target closed (its idle timeout, a restart) as the request went out on it: closed or
 * reset before any of the response, after it had carried earlier ones. The target did nothing wrong, so the request
 * is sent again to it on another connection (Exchange), as nginx does for a cached connection without counting a
 * try, and as Go's HTTP client does on a reused one.
 */
export const isStaleConnection = (err: Error, responding: boolean): boolean =>
  !responding && CONNECTION_LOST.has((err as NodeJS.ErrnoException).code ?? '') && onReusedConnection(err);

/** HTTP/2's REFUSED_STREAM: the server did not process the stream (RFC 9113 8.7). */
const REFUSED_STREAM = 0x7;

/**
 * An HTTP/2 target never processed the request: it refused the stream (REFUSED_STREAM, as for a stream that crossed
 * its GOAWAY), or the request's HEADERS never went out (nghttp2 opens no stream past a GOAWAY it has read). H2cCall
 * puts the reset code on its errors. undici does on some, passes Node's stream error, which names it, on others, and
 * tells the rest by message: a stream above a GOAWAY's last stream id, and HEADERS not sent (a frameError of type 1).
 */
export function isRefused(err: Error): boolean {
  const { code, http2ErrorCode } = err as { code?: string; http2ErrorCode?: number };
  if (http2ErrorCode !== undefined) return http2ErrorCode === REFUSED_STREAM;
  if (code === 'ERR_HTTP2_STREAM_ERROR') return err.message.endsWith('NGHTTP2_REFUSED_STREAM');
  if (code !== 'UND_ERR_INFO' && code !== 'UND_ERR_SOCKET') return false;
  return UNDICI_UNSENT.some((start) => err.message.startsWith(start));
}

const UNDICI_UNSENT = ['HTTP/2: "GOAWAY" frame received', 'HTTP/2: "frameError" received - type 1,'];

/**
 * The target did nothing wrong and is sent the request again (Exchange), not another target: a kept-alive HTTP/1.1
 * connection it had just closed lost it (isStaleConnection), or an HTTP/2 target never processed it (isRefused: a
 * stream that crossed the target's GOAWAY, as gRPC servers send at their max_connection_age).
 */
export function sendsAgainToTarget(err: Error, responding: boolean, protocol: string): boolean {
  if (protocol === 'http/1.1') return isStaleConnection(err, responding);
  return !responding && isRefused(err);
}

/** How many times one request goes again to its target (sendsAgainToTarget). */
export const STALE_RESENDS = 2;

/**
 * The target sent nothing back: the connection failed, or it broke before
 * any of the response arrived (`responding` false). The typical case is a
 * kept-alive connection the target closed (a restart, its idle timeout) just
 * as the request was written to it. As nginx's proxy_next_upstream `error`
 * (its default) and Go's Transport on a reused connection, such a request may
 * be retried when it is idempotent; and an ejection it causes is one an
 * active check or a last-resort request that reaches the target ends
 * (PassiveHealth.recordReached).
 */
export function isNoResponse(err: Error, responding: boolean): boolean {
  return isConnectFailure(err) || (!responding && CONNECTION_LOST.has((err as NodeJS.ErrnoException).code ?? ''));
}

/** Maps an upstream error to the reply code; anything unrecognised is a bad gateway. */
export function classifyUpstreamError(err: Error): ErrorCode {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'TOLLGATE_GRPC_DEADLINE') return 'GW_ERR_DEADLINE_EXCEEDED';
  if (TIMEOUTS.has(code)) return 'GW_ERR_UPSTREAM_TIMEOUT';
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE' || code === 'TOLLGATE_RESPONSE_TOO_LARGE')
    return 'GW_ERR_RESPONSE_TOO_LARGE';
  if (CONNECT_FAILURES.has(code)) return 'GW_ERR_UPSTREAM_REFUSED';
  return 'GW_ERR_BAD_GATEWAY';
}

export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Whether a failed attempt may go again. A failed connect sent nothing, so
 * any request may, its body too while it can be sent again (`untouched`: none
 * of it read, or what was sent kept; as nginx, Envoy and HAProxy retry a
 * connect failure); so may one an HTTP/2 target refused (isRefused). A
 * connection lost before the response may have carried the request: only an
 * idempotent one without a body goes again.
 */
export function mayRetry(
  err: Error,
  noResponse: boolean,
  untouched: boolean,
  hasBody: boolean,
  method: string | undefined,
): boolean {
  if (isConnectFailure(err) || isRefused(err)) return untouched;
  return noResponse && !hasBody && IDEMPOTENT.has(method ?? '');
}
