/**
 * The AccessEvent wire format: one event per record (Kafka message, segment
 * log entry), first byte = format version. Binary v1 was chosen over JSON by
 * measurement (`node_modules/.bin/node test/bench/events/codec.bench.ts`; 4096 realistic
 * events, Node 24.21, 2-core VM, median of 7 interleaved rounds; zstd = bytes per
 * event when 500-event batches are compressed, as a Kafka producer would):
 *                mean B  max B  zstd B   encode     decode     encode+decode
 *   binary v1     133     164    53      1.24 M/s   1.15 M/s   0.45 M/s
 *   JSON array    227     269    63      1.34 M/s   0.84 M/s   0.44 M/s
 *   JSON object   409     451    76      0.72 M/s   0.68 M/s   0.32 M/s
 * Binary is 1.7x smaller than the tightest JSON (3.1x than keyed JSON), keeps
 * typical events far under 200 bytes, decodes 1.4x faster (the collector's hot
 * side) and encodes on par.
 *
 * v1 layout, in AccessEvent field order:
 *   u8 version = 1
 *   u8 flags: bit0 id is 16 raw bytes, bit1 traceId is 16 raw bytes,
 *             bits2-3 clientIp kind (0 text, 1 IPv4 4 bytes, 2 IPv6 16 bytes,
 *             3 IPv4-mapped IPv6 as its 4 IPv4 bytes), other bits 0
 *   id, varint startMs, str node, str appId, str service, str route, str method,
 *   varint status, upstreamStatus, totalUs, upstreamUs, gatewayUs, bytesIn, bytesOut,
 *   clientIp, str target, varint errorClass (index in ERROR_CLASSES), traceId
 * varint = unsigned LEB128, minimal, at most 8 bytes, at most 2^53-1;
 * str = varint byte length (at most MAX_FIELD_BYTES) + UTF-8.
 * Raw forms are used only when the text comes back identical (lowercase hex,
 * canonical IP text), so decode(encode(e)) deep-equals e for every valid e.
 * Never change a layout: a new one is a new version byte, decoded beside the old.
 *
 * v2 (written since HTTP/2 and gRPC) is v1 with version = 2 and, after traceId:
 *   varint protocol (index in PROTOCOLS), str tlsVersion, varint grpcStatus + 1 (0 = not gRPC),
 *   str grpcMethod, varint messagesIn, varint messagesOut
 * A v1 record decodes with protocol 'http/1.1', tlsVersion '', grpcStatus -1, grpcMethod '' and no messages:
 * every v1 writer spoke plaintext HTTP/1.1 only. The extension costs 6 bytes on an HTTP/1.1 event.
 *
 * v3 (written since WebSocket and TCP streams) is v2 with version = 3, flags bit4 = interim (an event of a
 * connection still open), and after messagesOut: varint closeCode, str closeReason. v1 and v2 records decode
 * with closeCode 0, closeReason '' and interim false. 2 bytes more on a request's event.
 */

/** The version encode writes. */
export const FORMAT_VERSION = 3;
export const FORMAT_V1 = 1;
export const FORMAT_V2 = 2;
/** Cap on each string field, in UTF-8 bytes, for encode and decode alike. */
export const MAX_FIELD_BYTES = 4096;

export type EventDecodeReason = 'empty' | 'unknown_version' | 'truncated' | 'invalid';

export class EventDecodeError extends Error {
  readonly reason: EventDecodeReason;
  constructor(reason: EventDecodeReason, message: string) {
    super(message);
    this.name = 'EventDecodeError';
    this.reason = reason;
  }
}

export const FLAG_ID_RAW = 1;
export const FLAG_TRACE_RAW = 2;
export const IP_SHIFT = 2;
export const IP_TEXT = 0;
export const IP_V4 = 1;
export const IP_V6 = 2;
export const IP_V4_MAPPED = 3;
export const V4_MAPPED_PREFIX = '::ffff:';
/** v3: the event of a connection still open (AccessEvent.interim). */
export const FLAG_INTERIM = 16;
/** Flags v1 and v2 records may carry; v3 adds FLAG_INTERIM. */
export const KNOWN_FLAGS = 0b1111;
export const KNOWN_FLAGS_V3 = 0b11111;
export const MAX_VARINT_BYTES = 8;
// Largest v3 record: version and flags, 12 strings at the cap (raw forms are
// shorter), 13 numbers and the error class at the longest varint.
export const MAX_EVENT_BYTES = 2 + 12 * (2 + MAX_FIELD_BYTES) + 14 * MAX_VARINT_BYTES;
