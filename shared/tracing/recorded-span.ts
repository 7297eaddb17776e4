/**
 * The gateway's sampled spans: plain records that the request path fills and the SDK's batch processor and OTLP
 * serializers take as they take the SDK's own spans (a ReadableSpan each). The SDK's Span checks every attribute,
 * converts every time and asks a context for its parent, about a third of what 100% sampling cost on the proxy
 * thread (`--cpu-prof`, docs/decisions/0012-tracing.md); the gateway sets attributes of known types and knows each
 * span's parent and times, so its spans skip that. The SDK's own spans remain for the collector's batches.
 */
import type {
  Attributes,
  AttributeValue,
  Exception,
  HrTime,
  Link,
  Span,
  SpanContext,
  SpanKind,
  SpanStatus,
  TimeInput,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';
import { HEX_CODES, RandomPool } from '../uuid-text.ts';
import { wallClock } from '../wall-clock.ts';

export const ZERO_TRACE = '0'.repeat(32);
export const ZERO_SPAN = '0'.repeat(16);

/**
 * Random W3C `traceparent` values of an unsampled root, `00-<trace id>-<span id>-00`, each cut from text that one
 * conversion makes for ten: bytes drawn as event ids are (RandomPool) are written as hex into a buffer whose dashes
 * and version and flags stay put, read out as one flat string of 550 characters. An unsampled request's context is
 * then one slice of it, not a header concatenated from two ids and flattened again when it goes upstream
 * (gateway/proxy/tracing/unsampled-span.ts). The slices keep the text alive while they live. All zeros is not a
 * valid id (W3C Trace Context): such a draw, 1 in 2^64 at worst, has its last byte set to 1.
 */
const pool = new RandomPool();
const TRACEPARENT_LENGTH = 55;
const PER_TEXT = 10;
const ID_BYTES = 24;
const template = Buffer.from('00-00000000000000000000000000000000-0000000000000000-00'.repeat(PER_TEXT), 'latin1');
let text = '';
let next = 0;
export function randomTraceparent(): string {
  if (next === text.length) {
    const bytes = pool.bytes;
    const at = pool.take(PER_TEXT * ID_BYTES);
    for (let i = 0; i < PER_TEXT; i++) writeIds(bytes, at + i * ID_BYTES, i * TRACEPARENT_LENGTH);
    text = template.toString('latin1');
    next = 0;
  }
  const traceparent = text.slice(next, next + TRACEPARENT_LENGTH);
  next += TRACEPARENT_LENGTH;
  return traceparent;
}

/** 16 bytes of trace id and 8 of span id from bytes[from] as hex into the template's traceparent at `to`. */
function writeIds(bytes: Uint8Array, from: number, to: number): void {
  if (allZero(bytes, from, 16)) bytes[from + 15] = 1;
  if (allZero(bytes, from + 16, 8)) bytes[from + 23] = 1;
  for (let k = 0; k < ID_BYTES; k++) {
    const hex = bytes[from + k] << 1;
    // The trace id's 32 digits start at 3, the span id's 16 at 36, after a dash.
    const o = to + 3 + 2 * k + (k < 16 ? 0 : 1);
    template[o] = HEX_CODES[hex];
    template[o + 1] = HEX_CODES[hex + 1];
  }
}

function allZero(bytes: Uint8Array, from: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (bytes[from + k] !== 0) return false;
  return true;
}

/** The trace id of a `traceparent` (version 00). */
export const traceIdOfTraceparent = (traceparent: string): string => traceparent.slice(3, 35);
/** The parent id (span id) of a `traceparent` (version 00). */
export const spanIdOfTraceparent = (traceparent: string): string => traceparent.slice(36, 52);

/** A fresh trace id and span id (a random traceparent's). */
export function randomIds(): { traceId: string; spanId: string } {
  const traceparent = randomTraceparent();
  return { traceId: traceIdOfTraceparent(traceparent), spanId: spanIdOfTraceparent(traceparent) };
}

/** Milliseconds (since the epoch, or of a duration) as [seconds, nanoseconds]. */
export function hrTimeOf(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/**
 * A span's end as epoch milliseconds, read as the SDK reads a TimeInput: a number below half the time origin is a
 * performance.now() reading, above it epoch milliseconds; an HrTime is epoch seconds and nanoseconds; none is now.
 * A reading, or now, goes through `originMs`, the wall clock's origin when the span started (as the SDK's anchored
 * clock does): a step of the system clock while the span is open (shared/wall-clock.ts) then leaves its duration exact.
 */
function endMsOf(time: TimeInput | undefined, originMs: number): number {
  if (typeof time === 'number') return time < performance.timeOrigin / 2 ? originMs + time : time;
  if (time instanceof Date) return time.getTime();
  if (Array.isArray(time)) return time[0] * 1000 + time[1] / 1e6;
  return originMs + performance.now();
}

const NO_EVENTS: TimedEvent[] = [];
const NO_LINKS: Link[] = [];
const UNSET: SpanStatus = { code: 0 };

/** The parts of a Span that record events, links and exceptions: the gateway records none, and keeps the shape. */
export abstract class SpanWithoutEvents {
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  recordException(_exception: Exception): void {}
}

export class RecordedSpan extends SpanWithoutEvents implements Span, ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly startTime: HrTime;
  endTime: HrTime = [0, 0];
  duration: HrTime = [0, 0];
  ended = false;
  status: SpanStatus = UNSET;
  readonly attributes: Attributes;
  readonly parentSpanContext: SpanContext | undefined;
  readonly links = NO_LINKS;
  readonly events = NO_EVENTS;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly #context: SpanContext;
  readonly #startMs: number;
  readonly #originMs = wallClock.originMs;
  readonly #processor: SpanProcessor;

  constructor(
    recorder: SpanRecorder,
    context: SpanContext,
    parent: SpanContext | undefined,
    name: string,
    kind: SpanKind,
    startMs: number,
    attributes: Attributes,
  ) {
    super();
    this.#context = context;
    this.parentSpanContext = parent;
    this.name = name;
    this.kind = kind;
    this.#startMs = startMs;
    this.startTime = hrTimeOf(startMs);
    this.attributes = attributes;
    this.resource = recorder.resource;
    this.instrumentationScope = recorder.scope;
    this.#processor = recorder.processor;
  }

  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: AttributeValue): this {
    if (!this.ended) this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    if (!this.ended) Object.assign(this.attributes, attributes);
    return this;
  }
  setStatus(status: SpanStatus): this {
    if (!this.ended) this.status = status;
    return this;
  }
  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  /** Ends the span now or at `endTime` (read as the SDK reads a TimeInput), and hands it to the batch processor. */
  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    const endMs = endMsOf(endTime, this.#originMs);
    this.endTime = hrTimeOf(endMs);
    this.duration = hrTimeOf(Math.max(0, endMs - this.#startMs));
    this.#processor.onEnd(this);
  }
}

/** Starts sampled spans of one process: its resource and scope, its batch processor, ids from a random pool. */
export class SpanRecorder {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly processor: SpanProcessor;

  constructor(resource: Resource, scope: InstrumentationScope, processor: SpanProcessor) {
    this.resource = resource;
    this.scope = scope;
    this.processor = processor;
  }

  /**
   * A sampled span, child of `parent` (in its trace, with its trace state) or the root of a new trace, started at
   * `startMs` (epoch milliseconds). `attributes` becomes the span's own object.
   */
  start(
    name: string,
    kind: SpanKind,
    parent: SpanContext | undefined,
    startMs: number,
    attributes: Attributes,
  ): RecordedSpan {
    const ids = randomIds();
    const context: SpanContext = {
      traceId: parent?.traceId ?? ids.traceId,
      spanId: ids.spanId,
      traceFlags: 1,
      traceState: parent?.traceState,
    };
    return new RecordedSpan(this, context, parent, name, kind, startMs, attributes);
  }
}
