/** The reading half of the AccessEvent codec (the layout: access-event-format.ts). It runs on the collectors. */
import { ERROR_CLASSES, PLAIN_HTTP1, PROTOCOLS } from './access-event.ts';
import type { AccessEvent, ErrorClass, Protocol } from './access-event.ts';
import { traceIdFromBytes, uuidFromBytes } from './access-event-id.ts';
import { formatIpv4, formatIpv6 } from './access-event-ip.ts';
import {
  EventDecodeError,
  FLAG_ID_RAW,
  FLAG_INTERIM,
  FLAG_TRACE_RAW,
  FORMAT_V1,
  FORMAT_V2,
  FORMAT_VERSION,
  IP_SHIFT,
  IP_TEXT,
  IP_V4,
  IP_V6,
  KNOWN_FLAGS,
  KNOWN_FLAGS_V3,
  MAX_FIELD_BYTES,
  MAX_VARINT_BYTES,
  V4_MAPPED_PREFIX,
} from './access-event-format.ts';

// decode is synchronous, so one cursor per module is safe.
const EMPTY = Buffer.alloc(0);
let pos = 0;
let input: Buffer = EMPTY;
let end = 0;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The event in `bytes`, which must hold exactly one record. Throws
 * EventDecodeError for anything else, after reading at most bytes.length
 * bytes and allocating at most MAX_FIELD_BYTES per field.
 */
export function decode(bytes: Uint8Array): AccessEvent {
  if (bytes.length === 0) throw new EventDecodeError('empty', 'empty record');
  const version = bytes[0];
  if (version !== FORMAT_VERSION && version !== FORMAT_V2 && version !== FORMAT_V1) {
    throw new EventDecodeError('unknown_version', `unknown format version ${version}`);
  }
  input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  end = input.length;
  try {
    const event = readV1(version === FORMAT_VERSION ? KNOWN_FLAGS_V3 : KNOWN_FLAGS);
    if (version !== FORMAT_V1) readV2Extension(event);
    if (version === FORMAT_VERSION) {
      event.closeCode = readVarint('closeCode');
      event.closeReason = readString('closeReason');
      event.interim = (input[1] & FLAG_INTERIM) !== 0;
    }
    if (pos !== end) throw invalid(`${end - pos} bytes after the event`);
    return event;
  } finally {
    input = EMPTY; // drop the reference so a decoded buffer can be collected
  }
}

function readV1(known: number): AccessEvent {
  pos = 1;
  need(1);
  const flags = input[pos++];
  if ((flags & ~known) !== 0) throw invalid(`unknown flags ${flags}`);
  const ipKind = (flags >>> IP_SHIFT) & 3;
  const event: AccessEvent = {
    id: flags & FLAG_ID_RAW ? readRaw16(uuidFromBytes) : readString('id'),
    startMs: readVarint('startMs'),
    node: readString('node'),
    appId: readString('appId'),
    service: readString('service'),
    route: readString('route'),
    method: readString('method'),
    status: readVarint('status'),
    upstreamStatus: readVarint('upstreamStatus'),
    totalUs: readVarint('totalUs'),
    upstreamUs: readVarint('upstreamUs'),
    gatewayUs: readVarint('gatewayUs'),
    bytesIn: readVarint('bytesIn'),
    bytesOut: readVarint('bytesOut'),
    clientIp: readClientIp(ipKind),
    target: readString('target'),
    errorClass: readErrorClass(),
    traceId: flags & FLAG_TRACE_RAW ? readRaw16(traceIdFromBytes) : readString('traceId'),
    ...PLAIN_HTTP1,
  };
  return event;
}

/** The fields v2 appends after traceId; a v1 record keeps readV1's defaults. */
function readV2Extension(event: AccessEvent): void {
  event.protocol = readProtocol();
  event.tlsVersion = readString('tlsVersion');
  event.grpcStatus = readVarint('grpcStatus') - 1;
  event.grpcMethod = readString('grpcMethod');
  event.messagesIn = readVarint('messagesIn');
  event.messagesOut = readVarint('messagesOut');
}

function readProtocol(): Protocol {
  const index = readVarint('protocol');
  if (index >= PROTOCOLS.length) throw invalid(`protocol index ${index} unknown`);
  return PROTOCOLS[index];
}

function invalid(message: string): EventDecodeError {
  return new EventDecodeError('invalid', message);
}

function need(n: number): void {
  if (end - pos < n)
    throw new EventDecodeError('truncated', `record ends at byte ${end}, needed ${n} more from ${pos}`);
}

function readVarint(field: string): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    need(1);
    const b = input[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (b === 0 && i > 0) throw invalid(`${field}: non-minimal varint`);
      if (value > Number.MAX_SAFE_INTEGER) throw invalid(`${field}: over 2^53-1`);
      return value;
    }
    scale *= 128;
  }
  throw invalid(`${field}: varint longer than ${MAX_VARINT_BYTES} bytes`);
}

function readString(field: string): string {
  const n = readVarint(field);
  if (n > MAX_FIELD_BYTES) throw invalid(`${field}: ${n} bytes, over ${MAX_FIELD_BYTES}`);
  need(n);
  const start = pos;
  pos += n;
  if (n <= CACHED_MAX_BYTES) {
    let hash = 0x811c9dc5;
    let b = 0;
    let i = start;
    for (; i < pos && (b = input[i]) < 0x80; i++) hash = Math.imul(hash ^ b, 0x01000193);
    if (i === pos) return cachedAscii(hash, start, n);
  }
  try {
    return utf8.decode(input.subarray(start, pos));
  } catch {
    throw invalid(`${field}: not UTF-8`);
  }
}

// Most string fields repeat (node, app, service, route, method, target), so
// short ASCII strings come from a fixed-size table keyed by an FNV-1a hash of
// their bytes: no string is allocated for a repeat, and the table never grows.
const CACHED_MAX_BYTES = 64;
const CACHE_SLOTS = 4096;
const cache: string[] = new Array<string>(CACHE_SLOTS).fill('');

function cachedAscii(hash: number, start: number, n: number): string {
  const slot = hash & (CACHE_SLOTS - 1);
  const hit = cache[slot];
  if (hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === input[start + i]) i++;
    if (i === n) return hit;
  }
  const text = input.toString('latin1', start, start + n);
  cache[slot] = text;
  return text;
}

function readErrorClass(): ErrorClass {
  const index = readVarint('errorClass');
  if (index >= ERROR_CLASSES.length) throw invalid(`errorClass index ${index} unknown`);
  return ERROR_CLASSES[index];
}

function readRaw16(format: (bytes: Uint8Array, offset: number) => string): string {
  need(16);
  pos += 16;
  return format(input, pos - 16);
}

function readClientIp(kind: number): string {
  if (kind === IP_TEXT) return readString('clientIp');
  const n = kind === IP_V6 ? 16 : 4;
  need(n);
  pos += n;
  if (kind === IP_V6) return formatIpv6(input, pos - 16);
  return kind === IP_V4 ? formatIpv4(input, pos - 4) : V4_MAPPED_PREFIX + formatIpv4(input, pos - 4);
}
