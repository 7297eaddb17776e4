/**
 * One request the gateway saw, as a fact. Written after the response
 * completes (never awaited on the request path) for every request, including
 * the ones the gateway rejected or could not route. No bodies.
 *
 * This file is the contract; the codec (versioned binary or JSON, chosen by
 * measurement) lives beside it in access-event-codec.ts.
 */
export interface AccessEvent {
  /** Unique, time-sortable id (e.g. UUIDv7 or ULID), as text. */
  id: string;
  /** Request start, epoch milliseconds. */
  startMs: number;
  /** Gateway node name (host name or configured node id). */
  node: string;
  /** Tenant id; '' when anonymous (authentication fills it later). */
  appId: string;
  /** Service and route names ('' when no route matched). */
  service: string;
  route: string;
  method: string;
  /** Status sent to the client (499 when the client left first). */
  status: number;
  /** Status the upstream answered, 0 when no upstream answered. */
  upstreamStatus: number;
  /** Microseconds: whole request, time waiting on the upstream, and the gateway's own share. */
  totalUs: number;
  upstreamUs: number;
  gatewayUs: number;
  bytesIn: number;
  bytesOut: number;
  clientIp: string;
  /** Upstream target origin, '' when none was picked. */
  target: string;
  errorClass: ErrorClass;
  /** W3C trace id (32 hex), '' when none. */
  traceId: string;
  /** What the client spoke: HTTP/1.1, HTTP/2, or gRPC (over HTTP/2). v1 records decode as 'http/1.1'. */
  protocol: Protocol;
  /** The client connection's TLS version as Node names it ('TLSv1.3'), '' for plaintext. */
  tlsVersion: string;
  /** The call's grpc-status (the upstream's, or the one the gateway made up); -1 when not a gRPC call. */
  grpcStatus: number;
  /** The gRPC method, '/package.Service/Method'; '' when not a gRPC call. */
  grpcMethod: string;
  /** Length-prefixed gRPC messages the client sent and received (WebSocket: data messages); 0 otherwise. */
  messagesIn: number;
  messagesOut: number;
  /**
   * A WebSocket connection's close code: the first close frame's (1005 when it held none), 1006 when none came
   * before the connection ended; 0 for everything else. v1 and v2 records decode as 0.
   */
  closeCode: number;
  /** Why a long-lived connection (WebSocket, TCP stream) ended: client, upstream, idle, …; '' for a request. */
  closeReason: string;
  /**
   * An interim event of a connection still open (v3): the bytes and messages since the connection's previous
   * event, and no request. The connection's final event counts it as one request, with what came after.
   */
  interim: boolean;
}

/** The fields added after v1, as a plaintext HTTP/1.1 request that is not gRPC has them: what a v1 record decodes
 * to. */
export const PLAIN_HTTP1: Pick<
  AccessEvent,
  | 'protocol'
  | 'tlsVersion'
  | 'grpcStatus'
  | 'grpcMethod'
  | 'messagesIn'
  | 'messagesOut'
  | 'closeCode'
  | 'closeReason'
  | 'interim'
> = Object.freeze({
  protocol: 'http/1.1',
  tlsVersion: '',
  grpcStatus: -1,
  grpcMethod: '',
  messagesIn: 0,
  messagesOut: 0,
  closeCode: 0,
  closeReason: '',
  interim: false,
});

/** The protocols an event can name; append only (binary encodings store the index). */
export const PROTOCOLS = ['http/1.1', 'h2', 'grpc', 'websocket', 'tcp'] as const;

export type Protocol = (typeof PROTOCOLS)[number];

/** gRPC's status codes are 0..16 (shared/grpc-status.ts); counters keep one slot each and count any other code as
 * 2, UNKNOWN. */
export const GRPC_STATUS_SLOTS = 17;

/**
 * Why a request did not get an ordinary upstream answer. One list for the
 * gateway, the collector, QPD limits and billing; append only (stored events
 * keep their index in binary encodings).
 */
export const ERROR_CLASSES = [
  'none',
  'no_route',
  'bad_request',
  'body_too_large',
  'headers_too_large',
  'request_timeout',
  'client_closed',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'circuit_open',
  'upstream_unavailable',
  'upstream_refused',
  'upstream_timeout',
  'bad_gateway',
  'response_too_large',
  'internal',
  'quota_exceeded',
  'injection_blocked',
  // The client left late: once the service had its whole request, or had begun its answer. Billable.
  'client_closed_late',
] as const;

export type ErrorClass = (typeof ERROR_CLASSES)[number];
