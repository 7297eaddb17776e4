/**
 * Tracing for the whole process: the SDK is loaded the first time a config turns tracing on (an idle gateway without
 * it never loads it), then follows every applied config: on, off, its sampling. Requests read `runtime.tracing`,
 * which is undefined while tracing is off or the SDK still loads (those few requests go untraced).
 */
import type { Config } from '../../control/config/schema.ts';
import type { Runtime } from '../runtime.ts';
import { enabledByEnv, type SpanCounts, type TracingSdk } from '../../../shared/tracing/sdk.ts';

type Env = Record<string, string | undefined>;

const NO_SPANS: SpanCounts = { exported: 0, dropped: 0, failed: 0 };

export class ProcessTracing {
  readonly #runtime: Runtime;
  readonly #env: Env;
  readonly #version: string;
  #sdk: TracingSdk | undefined = undefined;
  #loading: Promise<void> | undefined = undefined;
  /** The tracing section of the config that applied last. */
  #latest: Config['tracing'] | undefined = undefined;
  /** The start config's bound of the export queue: read at start (config/restart-only.ts), whenever the SDK loads. */
  #maxQueueSpans: number | undefined = undefined;

  constructor(runtime: Runtime, env: Env = process.env, version = '0') {
    this.#runtime = runtime;
    this.#env = env;
    this.#version = version;
    runtime.metrics.tracing.source.spans = () => this.#sdk?.counts ?? NO_SPANS;
    runtime.closers.push(() => this.close(2000));
  }

  /** Follows an applied config; loading the SDK, when it takes that, goes on in the background. */
  apply(config: Config['tracing']): void {
    this.#latest = config;
    this.#maxQueueSpans ??= config.max_queue_spans;
    if (!(config.enabled ?? enabledByEnv(this.#env))) {
      this.#runtime.tracing = undefined;
      return;
    }
    if (this.#sdk !== undefined) {
      this.#sdk.setSampleRatio(config.sample_ratio);
      this.#runtime.tracing = { sampled: this.#sdk.sampled, startSpan: this.#sdk.startSpan };
      return;
    }
    this.#loading ??= this.#load(config);
  }

  /** Resolves once the SDK the last apply asked for is loaded (for tests and start-up). */
  ready(): Promise<void> {
    return this.#loading ?? Promise.resolve();
  }

  async #load(config: Config['tracing']): Promise<void> {
    const log = this.#runtime.log;
    try {
      const { startTracingSdk } = await import('../../../shared/tracing/sdk.ts');
      this.#sdk = await startTracingSdk({
        env: this.#env,
        maxQueueSpans: this.#maxQueueSpans ?? config.max_queue_spans,
        sampleRatio: config.sample_ratio,
        version: this.#version,
        warn: (message) => log.warn({}, `tracing: ${message}`),
      });
      log.info(
        { endpoint: this.#env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? this.#env.OTEL_EXPORTER_OTLP_ENDPOINT },
        'tracing on',
      );
      if (this.#latest !== undefined) this.apply(this.#latest);
    } catch (err) {
      log.error({ err }, 'tracing: the OpenTelemetry SDK could not start; requests go untraced');
    } finally {
      this.#loading = undefined;
    }
  }

  /** Sends what is queued, within `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.#runtime.tracing = undefined;
    await this.#loading;
    await this.#sdk?.shutdown(timeoutMs);
  }
}
