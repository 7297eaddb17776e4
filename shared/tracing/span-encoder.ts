/**
 * The OTLP protobuf body (an ExportTraceServiceRequest) of a batch of the gateway's own spans (recorded-span.ts), in
 * one pass, the same bytes the SDK's ProtobufTraceSerializer writes for them (span-encoder.test.ts holds the two
 * side by side). The SDK's serializer takes any span: it sizes the request in one pass and writes it in a second,
 * turns each hex id into bytes in both, and writes each attribute's key afresh; that was the largest cost of 100%
 * sampling left on the proxy thread (docs/decisions/0012-tracing.md). Here the keys, a fixed few, are encoded once.
 * Other spans (the collector's, made by the SDK) go to the SDK's serializer (otlp-exporter.ts).
 *
 * Message and field numbers: opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto.
 */
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { RecordedSpan } from './recorded-span.ts';

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const I32 = 5;
const TWO_32 = 2 ** 32;
/** Span.flags: the parent's is_remote is known (the SDK always sets it), and is true. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  /** `size`: the bytes it starts with (it grows as it must). */
  constructor(size = 1 << 16) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tag(field: number, wire: number): void {
    const tag = (field << 3) | wire;
    if (tag > 127) {
      this.varint(tag);
      return;
    }
    this.ensure(1);
    this.buf[this.pos++] = tag;
  }

  varint(v: number): void {
    this.ensure(10);
    if (v < 0) {
      // An int64 below zero is ten bytes of two's complement (rare: no attribute the gateway sets is negative).
      let big = BigInt.asUintN(64, BigInt(v));
      while (big > 127n) {
        this.buf[this.pos++] = Number(big & 127n) | 128;
        big >>= 7n;
      }
      this.buf[this.pos++] = Number(big);
      return;
    }
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  string(s: string): void {
    // Written as ASCII (its length is its byte length) until a character says otherwise, then again as UTF-8.
    const n = s.length;
    const at = this.pos;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        this.pos = at;
        this.bytes(Buffer.from(s, 'utf8'));
        return;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A hex id (trace or span id) as its bytes. */
  hexId(hex: string): void {
    const n = hex.length >> 1;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < hex.length; i += 2) buf[pos++] = (HEX[hex.charCodeAt(i)] << 4) | HEX[hex.charCodeAt(i + 1)];
    this.pos = pos;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Reserves one byte for the length of a message that follows; `finish` writes it (moving the message on when
   * its length takes more). */
  start(): number {
    this.ensure(1);
    return this.pos++;
  }

  finish(at: number): void {
    const length = this.pos - at - 1;
    if (length < 128) {
      this.buf[at] = length;
      return;
    }
    const size = varintSize(length);
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    const end = this.pos;
    this.pos = at;
    this.varint(length);
    this.pos = end;
  }

  fixed64(lo: number, hi: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, lo, true);
    this.view.setUint32(this.pos + 4, hi, true);
    this.pos += 8;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
}

/** A hex digit's value by its character code (a table: about twice as fast as arithmetic on each digit). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 127) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Nanoseconds since the epoch as fixed64, without losing the digits a double cannot hold past 2^53. */
function writeTime(w: Writer, [seconds, nanos]: HrTime): void {
  // seconds * 1e9 + nanos, split as (secondsHigh * 2^16 + secondsLow) * 1e9 + nanos.
  const high = Math.floor(seconds / 65536) * 1e9; // times 2^16: its low 16 bits go to the low word, the rest up
  const low = (seconds % 65536) * 1e9 + nanos; // < 2^53
  const lowSum = (high % 65536) * 65536 + (low % TWO_32);
  w.fixed64(lowSum % TWO_32, Math.floor(high / 65536) + Math.floor(low / TWO_32) + Math.floor(lowSum / TWO_32));
}

const MAX_INT64 = 2 ** 63;

function writeAnyValue(w: Writer, value: AttributeValue | undefined | null): void {
  if (typeof value === 'string') {
    w.tag(1, LEN);
    w.string(value);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -MAX_INT64 && value < MAX_INT64) {
      w.tag(3, VARINT);
      w.varint(value);
    } else {
      w.tag(4, I64);
      w.double(value);
    }
  } else if (typeof value === 'boolean') {
    w.tag(2, VARINT);
    w.varint(value ? 1 : 0);
  } else if (Array.isArray(value)) {
    w.tag(5, LEN);
    const array = w.start();
    for (const item of value) {
      w.tag(1, LEN);
      const at = w.start();
      writeAnyValue(w, item);
      w.finish(at);
    }
    w.finish(array);
  }
  // null or undefined: an empty AnyValue, as the SDK writes it.
}

/** A KeyValue's key field, encoded once per key. */
const keys = new Map<string, Uint8Array>();
function keyField(key: string): Uint8Array {
  let encoded = keys.get(key);
  if (encoded === undefined) {
    const w = new Writer(64);
    w.tag(1, LEN);
    w.string(key);
    encoded = w.buf.slice(0, w.pos);
    // Keys come from the gateway's code and the resource: a handful. Anything past that is not kept.
    if (keys.size < 1000) keys.set(key, encoded);
  }
  return encoded;
}

function writeAttributes(w: Writer, attributes: Attributes, field: number): void {
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    w.tag(field, LEN);
    const kv = w.start();
    w.raw(keyField(key));
    w.tag(2, LEN);
    const value = w.start();
    writeAnyValue(w, attributes[key]);
    w.finish(value);
    w.finish(kv);
  }
}

function writeSpan(w: Writer, span: RecordedSpan): void {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  w.tag(1, LEN);
  w.hexId(context.traceId);
  w.tag(2, LEN);
  w.hexId(context.spanId);
  const state = context.traceState?.serialize();
  if (state) {
    w.tag(3, LEN);
    w.string(state);
  }
  if (parent?.spanId) {
    w.tag(4, LEN);
    w.hexId(parent.spanId);
  }
  w.tag(5, LEN);
  w.string(span.name);
  w.tag(6, VARINT);
  w.varint(span.kind + 1);
  w.tag(7, I64);
  writeTime(w, span.startTime);
  w.tag(8, I64);
  writeTime(w, span.endTime);
  writeAttributes(w, span.attributes, 9);
  // dropped attributes, events (11, none) and their count, links (13, none) and their count
  w.tag(10, VARINT);
  w.varint(0);
  w.tag(12, VARINT);
  w.varint(0);
  w.tag(14, VARINT);
  w.varint(0);
  w.tag(15, LEN);
  const status = w.start();
  if (span.status.message) {
    w.tag(2, LEN);
    w.string(span.status.message);
  }
  w.tag(3, VARINT);
  w.varint(span.status.code);
  w.finish(status);
  w.tag(16, I32);
  w.fixed32((context.traceFlags & 0xff) | HAS_IS_REMOTE | (parent?.isRemote ? IS_REMOTE : 0));
}

function writeScope(w: Writer, scope: InstrumentationScope): void {
  w.tag(1, LEN);
  const at = w.start();
  w.tag(1, LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, LEN);
    w.string(scope.version);
  }
  w.finish(at);
}

// One writer for the process's batches: the request is copied out of it whole, and it grows to the largest batch.
const shared = new Writer();

/** The request for `spans`, which all share `resource` and `scope` (one SpanRecorder's). */
export function encodeSpans(spans: readonly RecordedSpan[], resource: Resource, scope: InstrumentationScope) {
  const w = shared;
  w.pos = 0;
  w.tag(1, LEN);
  const resourceSpans = w.start();
  w.tag(1, LEN);
  const res = w.start();
  writeAttributes(w, resource.attributes, 1);
  w.tag(2, VARINT);
  w.varint(0);
  w.finish(res);
  w.tag(2, LEN);
  const scopeSpans = w.start();
  writeScope(w, scope);
  for (const span of spans) {
    w.tag(2, LEN);
    const at = w.start();
    writeSpan(w, span);
    w.finish(at);
  }
  if (scope.schemaUrl) {
    w.tag(3, LEN);
    w.string(scope.schemaUrl);
  }
  w.finish(scopeSpans);
  if (resource.schemaUrl) {
    w.tag(3, LEN);
    w.string(resource.schemaUrl);
  }
  w.finish(resourceSpans);
  return w.buf.slice(0, w.pos);
}
