/**
 * The OTLP protobuf body (an ExportTraceServiceRequest) of a batch of the gateway's own spans (recorded-span.ts),
 * built a span at a time as spans end (encoding-processor.ts): the same bytes the SDK's ProtobufTraceSerializer
 * writes for them (span-encoder.test.ts holds the two side by side). The SDK's serializer takes any span: it sizes the
 * request in one pass and writes it in a second, turns each hex id into bytes in both, and writes each attribute's
 * key afresh; that was the largest cost of 100% sampling left on the proxy thread (docs/decisions/0012-tracing.md).
 * Here the keys, a fixed few, are encoded once. Other spans (the collector's, made by the SDK), and any in http/json,
 * go to the SDK's serializer (otlp-exporter.ts).
 *
 * Message and field numbers: opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto.
 */
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { I32, I64, LEN, VARINT, Writer } from './protobuf-writer.ts';
import type { RecordedSpan } from './recorded-span.ts';

const TWO_32 = 2 ** 32;
/** Span.flags: the parent's is_remote is known (the SDK always sets it), and is true. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

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

/**
 * One export request built a span at a time: `add` encodes a span into it as the span ends, `finish` closes the
 * request and returns its bytes (a copy; the writer is kept and grows to the largest batch). Encoding each span as it
 * ends rather than a whole batch at once leaves no pause of a batch's encoding on the thread (512 spans took 0.6-3 ms
 * each time a batch filled, docs/decisions/0012-tracing.md), and no span object waits in a queue for it.
 */
export class BatchEncoder {
  readonly #w = new Writer();
  readonly #resource: Resource;
  readonly #scope: InstrumentationScope;
  #resourceSpans = 0;
  #scopeSpans = 0;
  /** Spans added since the last finish. */
  count = 0;

  /** The bytes of the request so far (about its size once finished). */
  get bytes(): number {
    return this.count === 0 ? 0 : this.#w.pos;
  }

  /** `resource` and `scope`: the ones every added span shares (one SpanRecorder's). */
  constructor(resource: Resource, scope: InstrumentationScope) {
    this.#resource = resource;
    this.#scope = scope;
  }

  add(span: RecordedSpan): void {
    const w = this.#w;
    if (this.count === 0) this.#begin();
    w.tag(2, LEN);
    const at = w.start();
    writeSpan(w, span);
    w.finish(at);
    this.count++;
  }

  /** The request holding the spans added since the last finish. */
  finish(): Uint8Array {
    // No spans: a request without resource spans, which is no bytes at all.
    if (this.count === 0) return new Uint8Array(0);
    const w = this.#w;
    if (this.#scope.schemaUrl) {
      w.tag(3, LEN);
      w.string(this.#scope.schemaUrl);
    }
    w.finish(this.#scopeSpans);
    if (this.#resource.schemaUrl) {
      w.tag(3, LEN);
      w.string(this.#resource.schemaUrl);
    }
    w.finish(this.#resourceSpans);
    const bytes = w.buf.slice(0, w.pos);
    this.count = 0;
    return bytes;
  }

  #begin(): void {
    const w = this.#w;
    w.pos = 0;
    w.tag(1, LEN);
    this.#resourceSpans = w.start();
    w.tag(1, LEN);
    const res = w.start();
    writeAttributes(w, this.#resource.attributes, 1);
    w.tag(2, VARINT);
    w.varint(0);
    w.finish(res);
    w.tag(2, LEN);
    this.#scopeSpans = w.start();
    writeScope(w, this.#scope);
  }
}
