/**
 * The OpenTelemetry SDK as the gateway and the cluster collector run it, loaded only when tracing is on
 * (gateway/proxy/tracing/runtime.ts, collector/cluster/main.ts): one tracer
 * provider for the process, spans batched and sent over OTLP (http/protobuf by default; http/json or grpc by
 * OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL), its endpoint, headers and timeout from the standard OTEL_EXPORTER_OTLP_*
 * variables, the resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. A bounded queue: what does not fit,
 * or what the backend does not take, is counted and dropped; nothing waits for the backend.
 */
import { hostname } from 'node:os';
import type { Attributes, Context, SpanContext, SpanKind } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type Span,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Tracer } from '@opentelemetry/api';
import { ThreadExporter } from './thread-exporter.ts';
import { type RecordedSpan, SpanRecorder } from './recorded-span.ts';
import { EncodingProcessor } from './encoding-processor.ts';
import { ExportQueue } from './export-queue.ts';
import { BatchEncoder } from './span-encoder.ts';

export interface SpanCounts {
  /** Spans the backend took. */
  exported: number;
  /** Spans dropped because the queue was full. */
  dropped: number;
  /** Spans in batches the backend refused or did not answer. */
  failed: number;
}

export interface TracingSdk {
  /** The SDK's tracer (the collector's batches). */
  readonly tracer: Tracer;
  /**
   * A span the gateway decided to sample (`sampled`), child of `parent` or the root of a new trace, from `startMs`
   * (epoch milliseconds): a plain record (recorded-span.ts), batched and exported as the tracer's spans are.
   */
  startSpan(
    name: string,
    kind: SpanKind,
    parent: SpanContext | undefined,
    startMs: number,
    attributes: Attributes,
  ): RecordedSpan;
  readonly counts: SpanCounts;
  /**
   * The sampling decision for a span with this parent (undefined: a root), taken without the SDK: an unsampled
   * request then makes no span at all (gateway/proxy/tracing/spans.ts); a sampled one is a `startSpan`.
   */
  sampled(parent: SpanContext | undefined): boolean;
  /** The ratio of a reload's tracing.sample_ratio; undefined: the OTEL_TRACES_SAMPLER default. */
  setSampleRatio(ratio: number | undefined): void;
  shutdown(timeoutMs: number): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** Tracing not asked for in a config is on when the environment names an OTLP endpoint and does not turn it off. */
export function enabledByEnv(env: Env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? 'otlp').trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * The six samplers of the specification as a rule the gateway applies itself (TracingSdk.sampled): whether a
 * parent's decision holds, and the ratio of the spans it does not decide (1: always_on, 0: always_off).
 */
export interface SamplingRule {
  parentBased: boolean;
  ratio: number;
}

/** The rule OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name (default parentbased_always_on). */
export function samplingRuleFromEnv(env: Env, warn: (message: string) => void): SamplingRule {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const arg = env.OTEL_TRACES_SAMPLER_ARG;
  const ratio = () => {
    const r = arg === undefined || arg.trim() === '' ? 1 : Number(arg);
    if (Number.isFinite(r) && r >= 0 && r <= 1) return r;
    warn(`OTEL_TRACES_SAMPLER_ARG=${arg} is not a ratio from 0 to 1: 1 is used`);
    return 1;
  };
  switch (name) {
    case 'always_on':
      return { parentBased: false, ratio: 1 };
    case 'always_off':
      return { parentBased: false, ratio: 0 };
    case 'traceidratio':
      return { parentBased: false, ratio: ratio() };
    case 'parentbased_always_off':
      return { parentBased: true, ratio: 0 };
    case 'parentbased_traceidratio':
      return { parentBased: true, ratio: ratio() };
    case 'parentbased_always_on':
      return { parentBased: true, ratio: 1 };
    default:
      warn(`OTEL_TRACES_SAMPLER=${name} is not one this gateway knows: parentbased_always_on is used`);
      return { parentBased: true, ratio: 1 };
  }
}

/** The SDK's sampler of a rule, for spans the gateway does not decide itself (the collector's batches). */
export function samplerFor(rule: SamplingRule): Sampler {
  const root =
    rule.ratio >= 1
      ? new AlwaysOnSampler()
      : rule.ratio <= 0
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(rule.ratio);
  return rule.parentBased ? new ParentBasedSampler({ root }) : root;
}

/**
 * Delegates to the sampler the serving config asks for, so a reload changes sampling without a new provider (the
 * tracer's spans; the gateway's decide by `sampled`, under the same rule).
 */
class ReloadableSampler implements Sampler {
  current: Sampler;
  rule: SamplingRule;
  constructor(rule: SamplingRule) {
    this.rule = rule;
    this.current = samplerFor(rule);
  }
  set(rule: SamplingRule): void {
    this.rule = rule;
    this.current = samplerFor(rule);
  }
  shouldSample(...args: Parameters<Sampler['shouldSample']>) {
    return this.current.shouldSample(...args);
  }
  toString(): string {
    return `Reloadable{${this.current.toString()}}`;
  }
}

/** Hands sampled spans to the batch processor while fewer than `max` wait for export; counts the rest. */
class BoundedProcessor implements SpanProcessor {
  readonly #inner: SpanProcessor;
  readonly #queue: ExportQueue;

  constructor(inner: SpanProcessor, queue: ExportQueue) {
    this.#inner = inner;
    this.#queue = queue;
  }
  onStart(span: Span, parent: Context): void {
    this.#inner.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    if (this.#queue.admit(span)) this.#inner.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** Counts what each export did with its spans, and lets the bounded processor take that many more. */
class CountingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #queue: ExportQueue;

  constructor(inner: SpanExporter, queue: ExportQueue) {
    this.#inner = inner;
    this.#queue = queue;
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      this.#queue.settle(spans.length, result);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * Spans per export request unless OTEL_BSP_MAX_EXPORT_BATCH_SIZE says otherwise: 2048, not the SDK's 512. Each
 * export costs the exporter's thread a wake-up and a request whatever it holds, and with the gateway's spans encoded
 * as they end a larger request holds no span objects and makes no pause. At 100% sampling under load (wrk, the
 * gateway on one core) that thread's CPU per request fell from 0.9-1.5 to 0.7-0.8 us, and req/s rose 0-10%
 * (docs/decisions/0012-tracing.md).
 */
const BATCH_SPANS = 2048;
/** A request of the gateway's spans goes out at this size even short of a batch (gRPC receivers take 4 MiB). */
const MAX_REQUEST_BYTES = 1 << 20;

const envInt = (env: Env, name: string, fallback: number) => {
  const n = Number(env[name]);
  return env[name] !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
};

export async function startTracingSdk(options: {
  env: Env;
  maxQueueSpans: number;
  sampleRatio: number | undefined;
  version: string;
  warn: (message: string) => void;
  /** For tests: another exporter than OTLP. */
  exporter?: SpanExporter;
}): Promise<TracingSdk> {
  const { env } = options;
  const counts: SpanCounts = { exported: 0, dropped: 0, failed: 0 };
  const fromEnv = samplingRuleFromEnv(env, options.warn);
  const sampler = new ReloadableSampler(fromEnv);
  const setSampleRatio = (ratio: number | undefined) => {
    sampler.set(ratio === undefined ? fromEnv : { parentBased: true, ratio });
  };
  setSampleRatio(options.sampleRatio);
  const detected = detectResources({ detectors: [envDetector] });
  // OTEL_SERVICE_NAME or service.name in OTEL_RESOURCE_ATTRIBUTES win over these.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        'service.name': 'tollgate',
        'service.version': options.version,
        'host.name': hostname(),
      }),
    )
    .merge(detected);
  // Serialized here and sent from a thread of its own (thread-exporter.ts); tests may pass an exporter instead.
  const thread = options.exporter ? undefined : await ThreadExporter.start(env, options.warn);
  const exporter = options.exporter ?? thread!;
  const maxQueueSize = options.maxQueueSpans;
  const queue = new ExportQueue(maxQueueSize, counts);
  const batchSize = Math.min(maxQueueSize, envInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', BATCH_SPANS));
  const delayMs = envInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000);
  const batch = new BatchSpanProcessor({
    exporter: new CountingExporter(exporter, queue),
    maxQueueSize,
    maxExportBatchSize: batchSize,
    scheduledDelayMillis: delayMs,
    exportTimeoutMillis: envInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30000),
  });
  const bounded = new BoundedProcessor(batch, queue);
  const provider = new TracerProvider({ resource, sampler, spanProcessors: [bounded] });
  const scope = { name: 'tollgate', version: options.version };
  // The gateway's own spans, in protobuf, are encoded as they end; in JSON (or to a test's exporter) they are
  // batched as the SDK's spans are.
  const encoding =
    thread !== undefined && thread.protocol !== 'http/json'
      ? new EncodingProcessor(
          new BatchEncoder(resource, scope),
          (b, done) => thread.exportBatch(b, done),
          { batchSize, maxBytes: MAX_REQUEST_BYTES, delayMs },
          queue,
        )
      : undefined;
  const recorder = new SpanRecorder(resource, scope, encoding ?? bounded);
  return {
    tracer: provider.getTracer('tollgate', options.version),
    startSpan: (name, kind, parent, startMs, attributes) => recorder.start(name, kind, parent, startMs, attributes),
    counts,
    sampled: (parent) => {
      const { parentBased, ratio } = sampler.rule;
      if (parentBased && parent !== undefined) return (parent.traceFlags & 1) === 1;
      return ratio >= 1 || (ratio > 0 && Math.random() < ratio);
    },
    setSampleRatio,
    shutdown: async (timeoutMs) => {
      if (thread) thread.shutdownMs = timeoutMs;
      // The last batch failing (a receiver that is gone) is counted as failed like any other; stopping goes on.
      // The own spans' last request is posted to the exporter's thread (at once) before the provider's shutdown
      // tells the thread to finish what it holds.
      const shut = Promise.all([encoding?.shutdown(), provider.shutdown()]).catch(() => undefined);
      await Promise.race([shut, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}
