/**
 * The collectors' fast read of an access-event record: the fields counting
 * needs, read straight from the record's bytes into one reused view, and the
 * byte ranges the cluster's raw-row writer (cluster/raw-tsv.ts) copies. decode()
 * (shared codec) builds 18 fields and 5–8 strings per event; at 100k events/s
 * those objects and strings (the 36-char id above all) were a third of the
 * cluster collector's GC time, and they grew the embedded collector thread's
 * young generation to its 64 MB cap while it caught up after a burst.
 *
 * Only the common shape is read here: a raw id and ASCII strings. Anything
 * else (a text id, non-ASCII text, and every malformed record) goes through
 * decode() itself, so what is accepted and every rejection reason are the
 * codec's own; the view then carries the decoded event.
 */
import { ERROR_CLASSES, PROTOCOLS } from '../../shared/access-event.ts';
import type { AccessEvent, ErrorClass, Protocol } from '../../shared/access-event.ts';
import { decode, FORMAT_VERSION, MAX_FIELD_BYTES } from '../../shared/access-event-codec.ts';

const FORMAT_V1 = 1;
const FORMAT_V2 = 2;

const FLAG_ID_RAW = 1;
const FLAG_TRACE_RAW = 2;
const FLAG_INTERIM = 16;
const KNOWN_FLAGS = 0b1111;
const KNOWN_FLAGS_V3 = 0b11111;
const MAX_VARINT_BYTES = 8;
export const IP_TEXT = 0;
export const IP_V4 = 1;
export const IP_V6 = 2;
export const IP_V4_MAPPED = 3;

/** One record's fields; valid until the next read(). */
export interface EventView {
  /** The record's bytes; the ranges below point into it. */
  bytes: Buffer;
  /** Set when decode() read the record (the uncommon shape): every field below is filled from it, ranges are not. */
  event: AccessEvent | undefined;
  /** Where the 16 raw id bytes are; -1 when the id is text (then `event.id`). */
  idAt: number;
  startMs: number;
  appId: string;
  service: string;
  status: number;
  upstreamStatus: number;
  totalUs: number;
  upstreamUs: number;
  gatewayUs: number;
  bytesIn: number;
  bytesOut: number;
  errorClass: ErrorClass;
  nodeAt: number;
  nodeLen: number;
  appAt: number;
  appLen: number;
  serviceAt: number;
  serviceLen: number;
  routeAt: number;
  routeLen: number;
  methodAt: number;
  methodLen: number;
  ipKind: number;
  ipAt: number;
  ipLen: number;
  targetAt: number;
  targetLen: number;
  /** Raw 16-byte trace id when true, ASCII text of traceLen bytes otherwise. */
  traceRaw: boolean;
  traceAt: number;
  traceLen: number;
  /** v2 fields; a v1 record has PLAIN_HTTP1's (an empty tls and method range). */
  protocol: Protocol;
  grpcStatus: number;
  messagesIn: number;
  messagesOut: number;
  tlsAt: number;
  tlsLen: number;
  grpcMethodAt: number;
  grpcMethodLen: number;
  /** v3 fields; v1 and v2 records have PLAIN_HTTP1's (an empty reason range). */
  interim: boolean;
  closeCode: number;
  closeReasonAt: number;
  closeReasonLen: number;
}

export function emptyView(): EventView {
  return {
    bytes: Buffer.alloc(0),
    event: undefined,
    idAt: -1,
    startMs: 0,
    appId: '',
    service: '',
    status: 0,
    upstreamStatus: 0,
    totalUs: 0,
    upstreamUs: 0,
    gatewayUs: 0,
    bytesIn: 0,
    bytesOut: 0,
    errorClass: 'none',
    nodeAt: 0,
    nodeLen: 0,
    appAt: 0,
    appLen: 0,
    serviceAt: 0,
    serviceLen: 0,
    routeAt: 0,
    routeLen: 0,
    methodAt: 0,
    methodLen: 0,
    ipKind: 0,
    ipAt: 0,
    ipLen: 0,
    targetAt: 0,
    targetLen: 0,
    traceRaw: false,
    traceAt: 0,
    traceLen: 0,
    protocol: 'http/1.1',
    grpcStatus: -1,
    messagesIn: 0,
    messagesOut: 0,
    tlsAt: 0,
    tlsLen: 0,
    grpcMethodAt: 0,
    grpcMethodLen: 0,
    interim: false,
    closeCode: 0,
    closeReasonAt: 0,
    closeReasonLen: 0,
  };
}

const EMPTY = Buffer.alloc(0);
// The reader's cursor; readEvent() is synchronous, so module state is safe.
let b: Buffer = EMPTY;
let pos = 0;
let end = 0;
/** Set by a reader that met something only decode() may judge. */
let odd = false;

/**
 * Fills `view` from `bytes` (one record). Throws EventDecodeError exactly
 * when decode() would, with its reason.
 */
export function readEvent(bytes: Buffer, view: EventView): void {
  view.bytes = bytes;
  view.event = undefined;
  b = bytes;
  end = bytes.length;
  odd = false;
  const read =
    end >= 2 &&
    (bytes[0] === FORMAT_VERSION || bytes[0] === FORMAT_V2 || bytes[0] === FORMAT_V1) &&
    (bytes[1] & ~(bytes[0] === FORMAT_VERSION ? KNOWN_FLAGS_V3 : KNOWN_FLAGS)) === 0 &&
    (bytes[1] & FLAG_ID_RAW) !== 0 &&
    readFields(view);
  b = EMPTY; // drop the reference so the record can be collected
  if (!read) fromEvent(view, decode(bytes));
}

function readFields(v: EventView): boolean {
  const flags = b[1];
  pos = 2;
  if (end - pos < 16) return false;
  v.idAt = pos;
  pos += 16;
  v.startMs = varint();
  v.nodeAt = str();
  v.nodeLen = pos - v.nodeAt;
  v.appAt = str();
  v.appLen = pos - v.appAt;
  v.serviceAt = str();
  v.serviceLen = pos - v.serviceAt;
  v.routeAt = str();
  v.routeLen = pos - v.routeAt;
  v.methodAt = str();
  v.methodLen = pos - v.methodAt;
  v.status = varint();
  v.upstreamStatus = varint();
  v.totalUs = varint();
  v.upstreamUs = varint();
  v.gatewayUs = varint();
  v.bytesIn = varint();
  v.bytesOut = varint();
  const ipKind = (flags >>> 2) & 3;
  v.ipKind = ipKind;
  if (ipKind === IP_TEXT) {
    v.ipAt = str();
    v.ipLen = pos - v.ipAt;
  } else {
    const n = ipKind === IP_V6 ? 16 : 4;
    if (end - pos < n) return false;
    v.ipAt = pos;
    v.ipLen = n;
    pos += n;
  }
  v.targetAt = str();
  v.targetLen = pos - v.targetAt;
  const errorIndex = varint();
  if (odd || errorIndex >= ERROR_CLASSES.length) return false;
  v.errorClass = ERROR_CLASSES[errorIndex];
  v.traceRaw = (flags & FLAG_TRACE_RAW) !== 0;
  if (v.traceRaw) {
    if (end - pos < 16) return false;
    v.traceAt = pos;
    v.traceLen = 16;
    pos += 16;
  } else {
    v.traceAt = str();
    v.traceLen = pos - v.traceAt;
  }
  if (b[0] !== FORMAT_V1) {
    const protocolIndex = varint();
    if (protocolIndex >= PROTOCOLS.length) return false;
    v.protocol = PROTOCOLS[protocolIndex];
    v.tlsAt = str();
    v.tlsLen = pos - v.tlsAt;
    v.grpcStatus = varint() - 1;
    v.grpcMethodAt = str();
    v.grpcMethodLen = pos - v.grpcMethodAt;
    v.messagesIn = varint();
    v.messagesOut = varint();
  } else {
    v.protocol = 'http/1.1';
    v.grpcStatus = -1;
    v.messagesIn = 0;
    v.messagesOut = 0;
    v.tlsLen = 0;
    v.grpcMethodLen = 0;
  }
  if (b[0] === FORMAT_VERSION) {
    v.closeCode = varint();
    v.closeReasonAt = str();
    v.closeReasonLen = pos - v.closeReasonAt;
    v.interim = (flags & FLAG_INTERIM) !== 0;
  } else {
    v.closeCode = 0;
    v.closeReasonLen = 0;
    v.interim = false;
  }
  if (odd || pos !== end) return false;
  v.appId = intern(v.appAt, v.appLen);
  v.service = intern(v.serviceAt, v.serviceLen);
  return true;
}

/** A minimal LEB128 of at most 8 bytes and 2^53-1; anything else (or running off the end) marks the record odd. */
function varint(): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && pos < end; i++) {
    const byte = b[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if ((byte === 0 && i > 0) || value > Number.MAX_SAFE_INTEGER) break;
      return value;
    }
    scale *= 128;
  }
  odd = true;
  pos = end;
  return 0;
}

/** Skips an ASCII string field and returns where its bytes start (pos is then its end). */
function str(): number {
  const n = varint();
  if (n > MAX_FIELD_BYTES || end - pos < n) {
    odd = true;
    pos = end;
    return end;
  }
  const start = pos;
  pos += n;
  for (let i = start; i < pos; i++) {
    if (b[i] >= 0x80) {
      odd = true;
      break;
    }
  }
  return start;
}

// app and service strings from a fixed table keyed by an FNV-1a hash of their
// bytes: a repeat allocates nothing, and the table never grows.
const INTERN_SLOTS = 1024;
const INTERN_MAX_BYTES = 128;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

function intern(at: number, n: number): string {
  if (n > INTERN_MAX_BYTES) return b.toString('latin1', at, at + n);
  let hash = 0x811c9dc5;
  for (let i = at; i < at + n; i++) hash = Math.imul(hash ^ b[i], 0x01000193);
  const slot = (hash >>> 0) & (INTERN_SLOTS - 1);
  const hit = interned[slot];
  if (hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === b[at + i]) i++;
    if (i === n) return hit;
  }
  const text = b.toString('latin1', at, at + n);
  interned[slot] = text;
  return text;
}

function fromEvent(v: EventView, e: AccessEvent): void {
  v.event = e;
  v.idAt = -1;
  v.startMs = e.startMs;
  v.appId = e.appId;
  v.service = e.service;
  v.status = e.status;
  v.upstreamStatus = e.upstreamStatus;
  v.totalUs = e.totalUs;
  v.upstreamUs = e.upstreamUs;
  v.gatewayUs = e.gatewayUs;
  v.bytesIn = e.bytesIn;
  v.bytesOut = e.bytesOut;
  v.errorClass = e.errorClass;
  v.protocol = e.protocol;
  v.grpcStatus = e.grpcStatus;
  v.messagesIn = e.messagesIn;
  v.messagesOut = e.messagesOut;
  v.closeCode = e.closeCode;
  v.interim = e.interim;
}
