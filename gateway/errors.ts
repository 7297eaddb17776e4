import type { ErrorClass } from '../shared/access-event.ts';
import { GRPC_STATUS, type GrpcStatusName } from '../shared/grpc-status.ts';
import { grpcStatusOfHttp } from './proxy/grpc/status.ts';

/**
 * Every reply the gateway writes itself carries one of these codes. Codes are
 * never reused or renamed once released; retire one by leaving it here with
 * `retired: true`. 5xx messages say nothing internal (no addresses, no stacks).
 */
export interface ErrorDef {
  status: number;
  message: string;
  /** The access event's error class for a request that ended with this reply. */
  errorClass: ErrorClass;
  /** The status a gRPC call gets for this reply, when its HTTP status does not say it (grpcStatusOfHttp). */
  grpc?: GrpcStatusName;
  retired?: boolean;
}

export const errors = {
  GW_ERR_NO_ROUTE: { status: 404, message: 'No route matches this request.', errorClass: 'no_route' },
  GW_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed.', errorClass: 'bad_request' },
  GW_ERR_PATH_INVALID: {
    status: 400,
    message: 'The request path has a malformed escape, an escaped control character or invalid UTF-8.',
    errorClass: 'bad_request',
  },
  GW_ERR_PATH_DOUBLE_ENCODED: {
    status: 400,
    message: 'The request path is percent-encoded twice (%25 followed by an escape).',
    errorClass: 'bad_request',
  },
  GW_ERR_PATH_ESCAPED_SEPARATOR: {
    status: 400,
    message: 'The request path holds an escaped slash or a backslash (%2F, %5C, \\), which this route does not take.',
    errorClass: 'bad_request',
  },
  GW_ERR_PATH_PARAMETERS: {
    status: 400,
    message: 'The request path holds ;parameters, which this listener does not take.',
    errorClass: 'bad_request',
  },
  GW_ERR_PATH_AMBIGUOUS: {
    status: 400,
    message:
      'The request path reads as different routes or paths depending on how its escapes or ;parameters are read.',
    errorClass: 'bad_request',
  },
  GW_ERR_AMBIGUOUS_FRAMING: {
    status: 400,
    message: 'The request framing is ambiguous (conflicting Content-Length or Transfer-Encoding).',
    errorClass: 'bad_request',
  },
  GW_ERR_UNSUPPORTED_TRANSFER_ENCODING: {
    status: 501,
    message: 'Only the chunked transfer encoding is supported.',
    errorClass: 'bad_request',
  },
  GW_ERR_HTTP_VERSION_NOT_SUPPORTED: {
    status: 505,
    message: 'Only HTTP/1.0 and HTTP/1.1 are served on this listener.',
    errorClass: 'bad_request',
  },
  GW_ERR_METHOD_NOT_SUPPORTED: {
    status: 501,
    message: 'The gateway does not support this method.',
    errorClass: 'bad_request',
  },
  // 403, as Envoy answers an upgrade a route does not allow: retrying cannot help, and it is no server fault, so it
  // stays out of the 5xx ratio and its alert (a browser's reconnect loop would page with a 501).
  GW_ERR_UPGRADE_NOT_SUPPORTED: {
    status: 403,
    message: 'A WebSocket handshake must be an HTTP/1.1 request with Connection: Upgrade.',
    errorClass: 'bad_request',
  },
  GW_ERR_WEBSOCKET_HANDSHAKE: {
    status: 400,
    message: 'A WebSocket handshake must be an HTTP/1.1 GET with a valid Sec-WebSocket-Key.',
    errorClass: 'bad_request',
  },
  GW_ERR_WEBSOCKET_LIMIT: {
    status: 503,
    message: 'This service has as many WebSocket connections open as it takes.',
    errorClass: 'rate_limited',
  },
  GW_ERR_WEBSOCKET_APP_LIMIT: {
    status: 429,
    message: 'This app has as many WebSocket connections open on this service as it may.',
    errorClass: 'rate_limited',
  },
  GW_ERR_WEBSOCKET_ORIGIN: {
    status: 403,
    message: 'WebSocket connections to this service are not allowed from this origin.',
    errorClass: 'forbidden',
  },
  GW_ERR_WEBSOCKET_VERSION: {
    status: 426,
    message: 'The gateway speaks WebSocket version 13 (Sec-WebSocket-Version).',
    errorClass: 'bad_request',
  },
  GW_ERR_METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'This method is not allowed on this route.',
    errorClass: 'bad_request',
  },
  GW_ERR_REQUEST_TIMEOUT: {
    status: 408,
    message: 'The client did not send the request in time.',
    errorClass: 'request_timeout',
  },
  GW_ERR_BODY_TOO_LARGE: {
    status: 413,
    message: 'The request body exceeds the size limit.',
    errorClass: 'body_too_large',
  },
  GW_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    message: 'The request headers exceed the size limit.',
    errorClass: 'headers_too_large',
  },
  GW_ERR_BAD_GATEWAY: { status: 502, message: 'The upstream sent an invalid response.', errorClass: 'bad_gateway' },
  GW_ERR_LOOP_DETECTED: {
    status: 508,
    message: 'The request came back through this gateway too many times (see Via): an upstream leads back to it.',
    errorClass: 'bad_gateway',
  },
  GW_ERR_UPSTREAM_REFUSED: {
    status: 502,
    message: 'The upstream could not be reached.',
    errorClass: 'upstream_refused',
  },
  GW_ERR_RESPONSE_TOO_LARGE: {
    status: 502,
    message: 'The upstream response exceeds the size limit.',
    errorClass: 'response_too_large',
  },
  GW_ERR_UPSTREAM_UNAVAILABLE: {
    status: 503,
    message: 'No healthy upstream target is available.',
    errorClass: 'upstream_unavailable',
  },
  GW_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    message: 'The upstream did not answer in time.',
    errorClass: 'upstream_timeout',
  },
  GW_ERR_INTERNAL: { status: 500, message: 'Internal error.', errorClass: 'internal' },
  GW_ERR_DEADLINE_EXCEEDED: {
    status: 504,
    message: "The call's deadline (grpc-timeout) passed before the upstream answered.",
    errorClass: 'upstream_timeout',
  },
  GW_ERR_GRPC_TIMEOUT_INVALID: {
    status: 400,
    message: 'The grpc-timeout header is malformed (at most 8 digits and a unit of H, M, S, m, u or n).',
    errorClass: 'bad_request',
    grpc: 'INTERNAL',
  },
  GW_ERR_NOT_GRPC: {
    status: 415,
    message: 'This route serves gRPC calls only (application/grpc over HTTP/2, or application/grpc-web).',
    errorClass: 'bad_request',
  },
  GW_ERR_PLAIN_HTTP_ON_TLS: {
    status: 400,
    message: 'This port takes HTTPS, and the request came as plain HTTP: send it to an https:// URL.',
    errorClass: 'bad_request',
  },
  GW_ERR_GRPC_WEB_BAD_BODY: {
    status: 400,
    message: 'The gRPC-Web text request body is not valid base64.',
    errorClass: 'bad_request',
    grpc: 'INTERNAL',
  },
  GW_ERR_ADMIN_UNAUTHORIZED: {
    status: 401,
    message: 'A valid admin bearer token is required.',
    errorClass: 'unauthorized',
  },
  GW_ERR_ADMIN_FORBIDDEN: {
    status: 403,
    message: 'Without a token, the admin API answers only requests to localhost from no other site.',
    errorClass: 'forbidden',
  },
  GW_ERR_CONFIG_INVALID: { status: 400, message: 'The config is invalid.', errorClass: 'bad_request' },
  GW_ERR_NOT_FOUND: { status: 404, message: 'No such resource.', errorClass: 'no_route' },
  GW_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The request body must be JSON (Content-Type: application/json).',
    errorClass: 'bad_request',
  },
  GW_ERR_CONFIG_VERSION_MISMATCH: {
    status: 412,
    message: 'The config has changed since the version named in If-Match.',
    errorClass: 'bad_request',
  },
  GW_ERR_CONFIG_CONFLICT: {
    status: 409,
    message: 'Other gateway nodes kept changing the config while this edit was applied; nothing was changed.',
    errorClass: 'bad_request',
  },
  GW_ERR_UNAUTHORIZED: { status: 401, message: 'Credentials are required.', errorClass: 'unauthorized' },
  GW_ERR_TOKEN_INVALID: { status: 401, message: 'The token is invalid.', errorClass: 'unauthorized' },
  GW_ERR_TOKEN_EXPIRED: { status: 401, message: 'The token has expired.', errorClass: 'unauthorized' },
  GW_ERR_API_KEY_INVALID: { status: 401, message: 'The API key is invalid.', errorClass: 'unauthorized' },
  GW_ERR_CLIENT_AUTH_FAILED: {
    status: 401,
    message: 'The client credentials are invalid.',
    errorClass: 'unauthorized',
  },
  GW_ERR_CLIENT_CERT_REQUIRED: {
    status: 401,
    message: 'A client certificate the listener verified is required.',
    errorClass: 'unauthorized',
  },
  GW_ERR_CLIENT_CERT_UNKNOWN: {
    status: 401,
    message: 'The client certificate names no known app.',
    errorClass: 'unauthorized',
  },
  GW_ERR_TOKEN_REQUEST_INVALID: { status: 400, message: 'The token request is malformed.', errorClass: 'bad_request' },
  GW_ERR_APP_DISABLED: { status: 403, message: 'The app is disabled.', errorClass: 'forbidden' },
  GW_ERR_FORBIDDEN: { status: 403, message: 'The caller may not use this route.', errorClass: 'forbidden' },
  GW_ERR_IP_DENIED: { status: 403, message: 'The client address is not allowed.', errorClass: 'forbidden' },
  GW_ERR_CORS_REJECTED: { status: 403, message: 'The cross-origin request is not allowed.', errorClass: 'forbidden' },
  GW_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests.', errorClass: 'rate_limited' },
  GW_ERR_QUOTA_EXCEEDED: { status: 429, message: 'The daily request quota is used up.', errorClass: 'quota_exceeded' },
  GW_ERR_AUTH_BUSY: {
    status: 503,
    message: 'Too many credential checks are running; retry shortly.',
    errorClass: 'rate_limited',
  },
  GW_ERR_RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    message: 'The rate limit cannot be checked right now.',
    errorClass: 'rate_limited',
  },
  GW_ERR_CIRCUIT_OPEN: {
    status: 503,
    message: 'The upstream is failing; requests are paused.',
    errorClass: 'circuit_open',
  },
  GW_ERR_INJECTION_BLOCKED: {
    status: 403,
    message: 'The request looks like an injection attack.',
    errorClass: 'injection_blocked',
  },
  GW_ERR_BODY_TYPE_NOT_ALLOWED: {
    status: 415,
    message: 'This route does not take a request body of this Content-Type.',
    errorClass: 'bad_request',
    grpc: 'INVALID_ARGUMENT',
  },
  GW_ERR_REPORTS_UNAVAILABLE: {
    status: 503,
    message: 'The reports store cannot be read right now.',
    errorClass: 'internal',
  },
  GW_ERR_CONFIG_NODE_BEHIND: {
    status: 503,
    message: "This node cannot apply the cluster's current config, so it takes no edits; nothing was changed.",
    errorClass: 'internal',
  },
  GW_ERR_STORE_UNAVAILABLE: {
    status: 503,
    message: 'The store of the config or of the apps did not answer.',
    errorClass: 'internal',
  },
  GW_ERR_CONSOLE_NOT_BUILT: {
    status: 503,
    message: 'The admin console is not built in this installation.',
    errorClass: 'internal',
  },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof errors;

/** An error the gateway raises itself, with a `code` (`TOLLGATE_*`) that classifiers and logs read as Node's own. */
export class GatewayError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * A store the admin API needed (the config versions, the apps and keys)
 * failed: Redis down or hung past its command timeout, a file store's disk
 * full or unwritable. The admin API answers 503 GW_ERR_STORE_UNAVAILABLE
 * with `message`, which says what was not done, and logs `cause`.
 */
export class StoreUnavailableError extends Error {
  readonly replyCode = 'GW_ERR_STORE_UNAVAILABLE';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** Awaits a store call; its failure becomes a StoreUnavailableError with `message`. */
export async function fromStore<T>(call: Promise<T>, message: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw new StoreUnavailableError(message, err);
  }
}

/** The gRPC status of a gateway-written reply to a gRPC call, as its number. */
export function grpcStatusOf(code: ErrorCode): number {
  const def: ErrorDef = errors[code];
  return GRPC_STATUS[def.grpc ?? grpcStatusOfHttp(def.status)];
}

/** The JSON body of a gateway-written reply; `fields` go first (the token endpoint's OAuth `error`, RFC 6749 5.2). */
export function errorBody(
  code: ErrorCode,
  requestId: string,
  message?: string,
  fields?: Record<string, string>,
): string {
  return JSON.stringify({ ...fields, code, message: message ?? errors[code].message, request_id: requestId });
}
