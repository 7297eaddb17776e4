/**
 * A SpanExporter that serializes each batch into its OTLP request body here (or takes one serialized already:
 * exportBatch) and hands the bytes to a thread of its own (otlp-exporter-thread.ts), which sends them. The batch
 * processor calls it as it would the OTLP exporter, and hears back when the backend took the batch or did not. A
 * thread that dies fails the batches it held; the next batch starts another.
 */
import { Worker } from 'node:worker_threads';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { threadEntry } from '../worker-thread.ts';
import { batchSerializer, otlpProtocol, type OtlpProtocol, type SerializedBatch } from './otlp-exporter.ts';

export interface ExporterThreadOptions {
  protocol: OtlpProtocol;
}
export type ToExporter = { op: 'export'; id: number; batch: SerializedBatch } | { op: 'shutdown' };
export type FromExporter =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'exported'; id: number; ok: boolean; error?: string }
  | { type: 'shut' };

type Env = Record<string, string | undefined>;

/**
 * Bytes whose whole ArrayBuffer can be moved to another thread: these, or a copy of a view into a larger buffer
 * (moving that buffer would take the rest of it, a pooled Buffer's neighbours included). Uint8Array's slice copies;
 * a Buffer's own slice() would return another view into the same memory.
 */
export function movable(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes : Uint8Array.prototype.slice.call(bytes);
}

export class ThreadExporter implements SpanExporter {
  readonly #env: Record<string, string>;
  readonly #options: ExporterThreadOptions;
  readonly #serialize: (spans: ReadableSpan[]) => SerializedBatch;
  readonly #warn: (message: string) => void;
  #worker: Promise<Worker> | undefined;
  readonly #pending = new Map<number, (result: ExportResult) => void>();
  #nextId = 0;
  /** How long shutdown waits for the thread to send what it holds before it ends the thread. */
  shutdownMs = 5000;
  /** Called when the thread says its exporter shut down. */
  #onShut: (() => void) | undefined;

  private constructor(
    env: Env,
    protocol: OtlpProtocol,
    serialize: (spans: ReadableSpan[]) => SerializedBatch,
    warn: (message: string) => void,
  ) {
    this.#env = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
    this.#options = { protocol };
    this.#serialize = serialize;
    this.#warn = warn;
  }

  /** Resolves once the thread's sender is made; rejects with its error (an unknown protocol). */
  static async start(env: Env, warn: (message: string) => void) {
    const protocol = otlpProtocol(env);
    const exporter = new ThreadExporter(env, protocol, await batchSerializer(protocol), warn);
    await exporter.#thread();
    return exporter;
  }

  /** The OTLP protocol the environment names, which the thread's transport speaks. */
  get protocol(): OtlpProtocol {
    return this.#options.protocol;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exportBatch(this.#serialize(spans), done);
  }

  /** Sends a request body serialized already (encoding-processor.ts). */
  exportBatch(batch: SerializedBatch, done: (result: ExportResult) => void): void {
    const id = ++this.#nextId;
    this.#pending.set(id, done);
    batch.bytes = movable(batch.bytes);
    const message: ToExporter = { op: 'export', id, batch };
    this.#thread().then(
      (worker) => worker.postMessage(message, [batch.bytes.buffer as ArrayBuffer]),
      (error: Error) => this.#settle(id, { code: ExportResultCode.FAILED, error }),
    );
  }

  async shutdown(): Promise<void> {
    const worker = await this.#worker?.catch(() => undefined);
    if (worker === undefined) return;
    this.#worker = undefined;
    // No listener is added here: a 'message' listener added after unref() would hold the process open for good.
    const shut = new Promise<void>((resolve) => {
      this.#onShut = resolve;
    });
    // Held open while it sends what it holds, for shutdownMs at most.
    worker.ref();
    worker.postMessage({ op: 'shutdown' } satisfies ToExporter);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([shut, new Promise((resolve) => (timer = setTimeout(resolve, this.shutdownMs)))]);
    clearTimeout(timer);
    await worker.terminate();
  }

  /** Ends the thread as a crash would (tests). */
  async crashThread(): Promise<void> {
    await (await this.#worker)?.terminate();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  #thread(): Promise<Worker> {
    this.#worker ??= this.#spawn();
    return this.#worker;
  }

  #spawn(): Promise<Worker> {
    const worker = new Worker(threadEntry('otlp-exporter-thread', import.meta.url), {
      workerData: this.#options,
      env: this.#env,
      name: 'tollgate-otlp-exporter',
    });
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromExporter) => {
        if (m.type === 'ready') {
          ready = true;
          // Spans not yet exported do not hold a stopping process open (shutdown sends what is queued). Only now,
          // after the listeners (one added after unref() refs the worker again): a start awaited alone must finish.
          worker.unref();
          resolve(worker);
        } else if (m.type === 'failed') reject(new Error(m.message));
        else if (m.type === 'exported')
          this.#settle(
            m.id,
            m.ok ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error(m.error) },
          );
        else this.#onShut?.();
      });
      worker.on('error', (error) => {
        if (!ready) reject(error);
        else this.#warn(`the OTLP exporter's thread failed (${error.message}); the next batch starts another`);
      });
      worker.on('exit', () => {
        this.#onShut?.();
        if (!ready) reject(new Error("the OTLP exporter's thread exited at start"));
        if (this.#worker !== undefined && ready) this.#worker = undefined;
        const lost = new Error("the OTLP exporter's thread ended before the backend answered");
        for (const id of [...this.#pending.keys()]) this.#settle(id, { code: ExportResultCode.FAILED, error: lost });
      });
    });
  }

  #settle(id: number, result: ExportResult): void {
    const done = this.#pending.get(id);
    this.#pending.delete(id);
    done?.(result);
  }
}
