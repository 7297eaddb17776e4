import { GRPC_STATUS, GRPC_STATUS_NAMES, type GrpcStatusName } from '../../../shared/grpc-status.ts';

/**
 * The status a gateway-written reply has for a gRPC call, from its HTTP
 * status, where the error registry names none (ErrorDef.grpc): credentials
 * UNAUTHENTICATED, refusals PERMISSION_DENIED, limits RESOURCE_EXHAUSTED, no
 * route UNIMPLEMENTED, no upstream UNAVAILABLE, timeouts DEADLINE_EXCEEDED.
 */
export function grpcStatusOfHttp(status: number): GrpcStatusName {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'UNIMPLEMENTED';
    case 408:
    case 504:
      return 'DEADLINE_EXCEEDED';
    case 413:
    case 429:
    case 431:
      return 'RESOURCE_EXHAUSTED';
    case 502:
    case 503:
      return 'UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL' : 'UNKNOWN';
  }
}

/**
 * The status a call gets when its upstream stream was reset with `code`
 * (gRPC's PROTOCOL-HTTP2.md, "Errors"): REFUSED_STREAM is UNAVAILABLE (the
 * call can be retried), CANCEL CANCELLED, ENHANCE_YOUR_CALM
 * RESOURCE_EXHAUSTED, INADEQUATE_SECURITY PERMISSION_DENIED, every other one
 * INTERNAL.
 */
export function grpcStatusOfReset(code: number): GrpcStatusName {
  switch (code) {
    case 0x7:
      return 'UNAVAILABLE';
    case 0x8:
      return 'CANCELLED';
    case 0xb:
      return 'RESOURCE_EXHAUSTED';
    case 0xc:
      return 'PERMISSION_DENIED';
    default:
      return 'INTERNAL';
  }
}

/**
 * grpc-message is percent-encoded UTF-8: bytes outside printable ASCII, and
 * `%` itself, as %XX (PROTOCOL-HTTP2.md, "Status-Message").
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The label a call's status is counted under: its name, from the number the client got (-1: it got none);
 * a call that ended without a status is UNKNOWN, or CANCELLED when the client left first.
 */
export function grpcStatusLabel(status: number, clientLeft: boolean): string {
  if (status >= 0 && status < GRPC_STATUS_NAMES.length) return GRPC_STATUS_NAMES[status];
  return clientLeft ? 'CANCELLED' : 'UNKNOWN';
}

/**
 * The grpc-status a response carried, in its trailers or (trailers-only) its head; -1 when neither has one. One that
 * is not a code (0..16 in decimal digits, as the gRPC protocol spells it) is UNKNOWN, as grpc-js reads it: `1e3`
 * and `0x10` were read as 1000 and 16, and `99999999999999999999` as a number too large to record, so the call went
 * uncounted.
 */
export function grpcStatusIn(
  trailers: Record<string, string | string[] | undefined>,
  head: Record<string, string | string[] | undefined> | undefined,
): number {
  const value = trailers['grpc-status'] ?? head?.['grpc-status'];
  if (value === undefined) return -1;
  if (typeof value !== 'string' || !/^[0-9]{1,2}$/.test(value)) return GRPC_STATUS.UNKNOWN;
  const code = Number(value);
  return code < GRPC_STATUS_NAMES.length ? code : GRPC_STATUS.UNKNOWN;
}
