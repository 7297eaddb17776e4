/**
 * The writing half of the AccessEvent codec; the layout and why binary v1 is in access-event-format.ts,
 * the reading half in access-event-decode.ts (re-exported here, so callers import one module).
 */
import type { AccessEvent, ErrorClass, Protocol } from './access-event.ts';
import { ERROR_CLASSES, PROTOCOLS } from './access-event.ts';
import { eventIdToBytes, traceIdToBytes, writeNewEventId } from './access-event-id.ts';
import { ipv4ToBytes, ipv6ToBytes } from './access-event-ip.ts';
import {
  FLAG_ID_RAW,
  FLAG_INTERIM,
  FLAG_TRACE_RAW,
  FORMAT_VERSION,
  IP_SHIFT,
  IP_V4,
  IP_V4_MAPPED,
  IP_V6,
  MAX_EVENT_BYTES,
  MAX_FIELD_BYTES,
  V4_MAPPED_PREFIX,
} from './access-event-format.ts';

export { decode } from './access-event-decode.ts';
export { EventDecodeError, FORMAT_VERSION, MAX_FIELD_BYTES, type EventDecodeReason } from './access-event-format.ts';

const ERROR_CLASS_INDEX = new Map<string, number>(ERROR_CLASSES.map((c, i) => [c, i]));
const PROTOCOL_INDEX = new Map<string, number>(PROTOCOLS.map((p, i) => [p, i]));

// Encode and decode are synchronous, so one scratch buffer per module is safe and spares an allocation per event.
// The encoder keeps its cursor in locals (a module-level one was a context slot read and written for every byte).
const scratch = Buffer.allocUnsafe(MAX_EVENT_BYTES);

/**
 * The bytes of `event`, in the newest layout (v3). Throws RangeError (naming the field) for a number
 * that is not a non-negative safe integer (grpcStatus may be -1), a string over MAX_FIELD_BYTES or
 * with lone surrogates, or an unknown errorClass: such an event cannot be
 * decoded back as sent, so it is refused here rather than altered.
 */
export function encode(event: AccessEvent): Buffer {
  const view = encodeTransient(event);
  const out = Buffer.allocUnsafe(view.length);
  view.copy(out);
  return out;
}

/**
 * encode's bytes, as a view of the codec's own buffer that the next encode
 * overwrites: for a caller that copies them at once (the segment log copies
 * every record into its batch), which spares an allocation per event.
 */
export function encodeTransient(e: AccessEvent): Buffer {
  return encodeFields(
    e.id,
    e.startMs,
    e.node,
    e.appId,
    e.service,
    e.route,
    e.method,
    e.status,
    e.upstreamStatus,
    e.totalUs,
    e.upstreamUs,
    e.gatewayUs,
    e.bytesIn,
    e.bytesOut,
    e.clientIp,
    e.target,
    e.errorClass,
    e.traceId,
    e.protocol,
    e.tlsVersion,
    e.grpcStatus,
    e.grpcMethod,
    e.messagesIn,
    e.messagesOut,
    e.closeCode,
    e.closeReason,
    e.interim,
  );
}

/**
 * The one layout encode writes (v3): an AccessEvent's fields in their order, as encodeTransient's view.
 * `id` undefined mints a new one (newEventId's generator) straight into the record, without its text.
 * The request path calls this with a finished request's values instead of building an AccessEvent first
 * (gateway/proxy/events/access-event.ts): at one event per request, the object and the id's text were a
 * quarter of what counting cost the proxy thread.
 */
export function encodeFields(
  id: string | undefined,
  startMs: number,
  node: string,
  appId: string,
  service: string,
  route: string,
  method: string,
  status: number,
  upstreamStatus: number,
  totalUs: number,
  upstreamUs: number,
  gatewayUs: number,
  bytesIn: number,
  bytesOut: number,
  clientIp: string,
  target: string,
  errorClass: ErrorClass,
  traceId: string,
  protocol: Protocol,
  tlsVersion: string,
  grpcStatus: number,
  grpcMethod: string,
  messagesIn: number,
  messagesOut: number,
  closeCode: number,
  closeReason: string,
  interim: boolean,
): Buffer {
  const out = scratch;
  const errorIndex = ERROR_CLASS_INDEX.get(errorClass);
  if (errorIndex === undefined) throw new RangeError(`errorClass: unknown value ${JSON.stringify(errorClass)}`);
  const protocolIndex = PROTOCOL_INDEX.get(protocol);
  if (protocolIndex === undefined) throw new RangeError(`protocol: unknown value ${JSON.stringify(protocol)}`);
  out[0] = FORMAT_VERSION;
  let at = 2;
  let flags = 0;
  if (id === undefined) {
    writeNewEventId(out, at);
    flags |= FLAG_ID_RAW;
    at += 16;
  } else if (eventIdToBytes(id, out, at)) {
    flags |= FLAG_ID_RAW;
    at += 16;
  } else at = writeString(out, at, id, 'id');
  at = writeNumber(out, at, startMs, 'startMs');
  at = writeString(out, at, node, 'node');
  at = writeString(out, at, appId, 'appId');
  at = writeString(out, at, service, 'service');
  at = writeString(out, at, route, 'route');
  at = writeString(out, at, method, 'method');
  at = writeNumber(out, at, status, 'status');
  at = writeNumber(out, at, upstreamStatus, 'upstreamStatus');
  at = writeNumber(out, at, totalUs, 'totalUs');
  at = writeNumber(out, at, upstreamUs, 'upstreamUs');
  at = writeNumber(out, at, gatewayUs, 'gatewayUs');
  at = writeNumber(out, at, bytesIn, 'bytesIn');
  at = writeNumber(out, at, bytesOut, 'bytesOut');
  if (ipv4ToBytes(clientIp, out, at)) {
    flags |= IP_V4 << IP_SHIFT;
    at += 4;
  } else if (clientIp.startsWith(V4_MAPPED_PREFIX) && ipv4ToBytes(clientIp.slice(7), out, at)) {
    flags |= IP_V4_MAPPED << IP_SHIFT;
    at += 4;
  } else if (ipv6ToBytes(clientIp, out, at)) {
    flags |= IP_V6 << IP_SHIFT;
    at += 16;
  } else at = writeString(out, at, clientIp, 'clientIp');
  at = writeString(out, at, target, 'target');
  at = writeVarint(out, at, errorIndex);
  if (traceIdToBytes(traceId, out, at)) {
    flags |= FLAG_TRACE_RAW;
    at += 16;
  } else at = writeString(out, at, traceId, 'traceId');
  at = writeVarint(out, at, protocolIndex);
  at = writeString(out, at, tlsVersion, 'tlsVersion');
  if (!Number.isSafeInteger(grpcStatus + 1) || grpcStatus < -1) {
    throw new RangeError(`grpcStatus: ${grpcStatus} is neither -1 nor a non-negative safe integer`);
  }
  at = writeVarint(out, at, grpcStatus + 1); // -1 (not gRPC) is stored as 0
  at = writeString(out, at, grpcMethod, 'grpcMethod');
  at = writeNumber(out, at, messagesIn, 'messagesIn');
  at = writeNumber(out, at, messagesOut, 'messagesOut');
  at = writeNumber(out, at, closeCode, 'closeCode');
  at = writeString(out, at, closeReason, 'closeReason');
  if (interim) flags |= FLAG_INTERIM;
  out[1] = flags;
  return out.subarray(0, at);
}

function writeNumber(out: Buffer, at: number, value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field}: ${value} is not a non-negative safe integer`);
  }
  return writeVarint(out, at, value);
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let v = value;
  let i = at;
  while (v > 0x7fffffff) {
    out[i++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    out[i++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[i++] = v;
  return i;
}

function writeString(out: Buffer, at: number, value: string, field: string): number {
  if (typeof value !== 'string') throw new RangeError(`${field}: not a string`);
  const n = value.length;
  // Optimistically ASCII, where the byte length is the char length: one pass.
  if (n <= MAX_FIELD_BYTES) {
    let i = writeVarint(out, at, n);
    let k = 0;
    for (let c = 0; k < n && (c = value.charCodeAt(k)) < 0x80; k++) out[i++] = c;
    if (k === n) return i;
  }
  if (!value.isWellFormed()) throw new RangeError(`${field}: contains a lone surrogate`);
  const byteLength = Buffer.byteLength(value, 'utf8');
  if (byteLength > MAX_FIELD_BYTES) throw new RangeError(`${field}: ${byteLength} bytes, over ${MAX_FIELD_BYTES}`);
  const i = writeVarint(out, at, byteLength);
  return i + out.write(value, i, byteLength, 'utf8');
}
