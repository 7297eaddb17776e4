import type { ErrorCode } from '../../errors.ts';
import { isCertificateFailure } from '../../upstream/tls-errors.ts';

/** Errors where the request never reached the target: safe to retry elsewhere for idempotent methods. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL',
]);

// The header, body-idle and total timeouts are the gateway's own (Exchange), not undici's.
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'TOLLGATE_HEADERS_TIMEOUT', 'TOLLGATE_BODY_IDLE_TIMEOUT', 'TOLLGATE_TOTAL_TIMEOUT']);

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

/** Maps an upstream error to the reply code; anything unrecognised is a bad gateway. */
export function classifyUpstreamError(err: Error): ErrorCode {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (TIMEOUTS.has(code)) return 'GW_ERR_UPSTREAM_TIMEOUT';
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE' || code === 'TOLLGATE_RESPONSE_TOO_LARGE') return 'GW_ERR_RESPONSE_TOO_LARGE';
  if (CONNECT_FAILURES.has(code)) return 'GW_ERR_UPSTREAM_REFUSED';
  return 'GW_ERR_BAD_GATEWAY';
}

export class GatewayError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
