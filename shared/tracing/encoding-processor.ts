/**
 * The span processor of the gateway's own spans when they go out as OTLP protobuf: each sampled span is encoded into
 * the next export request as it ends (span-encoder.ts's BatchEncoder) and the span object is left to die young. A
 * request goes to the exporter's thread when it holds `batchSize` spans or `maxBytes` bytes, or `delayMs` after its
 * first span.
 * Spans are encoded `encodeEvery` at a time (32 by default), not each as it ends: at 1% sampling, a span's encoding
 * ran a few times a second, most likely on code and data the 99 other requests had pushed out of the CPU's caches,
 * and took ~25 µs of the ~75 µs a sampled request's tracing cost (~13 µs at 100%); 32 in a row share that
 * (docs/decisions/0012-tracing.md).
 * The SDK's BatchSpanProcessor instead keeps every span until its batch fills, then serializes all of them at once:
 * on the proxy thread that was a pause per batch and spans old enough to be moved out of V8's young generation
 * (docs/decisions/0012-tracing.md). The same bound as before holds (export-queue.ts, shared with the SDK's spans'
 * processor): spans encoded and not yet through an export count against it, and what does not fit is dropped.
 */
import type { Context } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { SerializedBatch } from './otlp-exporter.ts';
import type { RecordedSpan } from './recorded-span.ts';
import type { ExportQueue } from './export-queue.ts';
import type { BatchEncoder } from './span-encoder.ts';

export type SendBatch = (batch: SerializedBatch, done: (result: ExportResult) => void) => void;

export interface EncodingOptions {
  batchSize: number;
  /** A request's size past which it is sent whatever its count: receivers limit what they take (gRPC: 4 MiB). */
  maxBytes: number;
  delayMs: number;
  /** Spans held before they are encoded together (default 32); a request is sent after the one that fills it. */
  encodeEvery?: number;
}

const ENCODE_EVERY = 32;

export class EncodingProcessor implements SpanProcessor {
  readonly #encoder: BatchEncoder;
  readonly #send: SendBatch;
  readonly #options: EncodingOptions;
  readonly #queue: ExportQueue;
  readonly #encodeEvery: number;
  /** Ended and admitted, not encoded yet. */
  readonly #pending: RecordedSpan[] = [];
  #timer: NodeJS.Timeout | undefined = undefined;
  /** Exports sent and not yet answered: what a flush waits for. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(encoder: BatchEncoder, send: SendBatch, options: EncodingOptions, queue: ExportQueue) {
    this.#encoder = encoder;
    this.#send = send;
    this.#options = options;
    this.#queue = queue;
    this.#encodeEvery = Math.max(1, Math.min(options.encodeEvery ?? ENCODE_EVERY, options.batchSize));
  }

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (!this.#queue.admit(span)) return;
    const pending = this.#pending;
    pending.push(span as RecordedSpan);
    if (pending.length >= this.#encodeEvery) this.#encodePending();
    if (this.#timer === undefined && this.#encoder.count + pending.length > 0) {
      this.#timer = setTimeout(() => this.#sendBatch(), this.#options.delayMs);
      this.#timer.unref();
    }
  }

  /** Encodes the spans held, sending each request that fills on the way. */
  #encodePending(): void {
    const encoder = this.#encoder;
    for (const span of this.#pending) {
      encoder.add(span);
      if (encoder.count >= this.#options.batchSize || encoder.bytes >= this.#options.maxBytes) this.#sendBatch(false);
    }
    this.#pending.length = 0;
  }

  /** Sends what is encoded, and resolves once every export sent so far is answered. */
  async forceFlush(): Promise<void> {
    this.#sendBatch();
    await Promise.all(this.#inFlight);
  }

  shutdown(): Promise<void> {
    return this.forceFlush();
  }

  /** Sends the request being written, the spans held encoded into it first unless `encodeHeld` is false. */
  #sendBatch(encodeHeld = true): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (encodeHeld) this.#encodePending();
    const count = this.#encoder.count;
    if (count === 0) return;
    const batch: SerializedBatch = { bytes: this.#encoder.finish(), count };
    const answered = new Promise<void>((resolve) => {
      this.#send(batch, (result) => {
        this.#queue.settle(count, result);
        resolve();
      });
    });
    this.#inFlight.add(answered);
    answered.then(() => this.#inFlight.delete(answered));
  }
}
