import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type pino from 'pino';
import type { AccessEvent } from '../../../../shared/access-event.ts';
import { encodeTransient } from '../../../../shared/access-event-codec.ts';
import { SegmentLog, type DropReason as SegmentDropReason } from '../../../../shared/segment-log/segment-log.ts';
import { threadEntry, writeThreadLog } from '../../../../shared/worker-thread.ts';
import type { EventMetrics } from '../../../metrics.ts';
import type { DropReason, EventSink } from '../sink.ts';
import { RateLimitedWarn } from '../warn.ts';
import type { KafkaSinkConfig } from './config.ts';
import { MAX_RECORD_BYTES, segmentBytesFor } from './log.ts';
import type { FromSender, SenderThreadOptions } from './sender-protocol.ts';
import { SharedState, type SenderState } from './shared-state.ts';
import { until } from './waits.ts';

export type KafkaState = SenderState;

// Appended but not yet written: the disk falling this far behind drops events as `backlog`.
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
const FIRST_RESTART_MS = 1000;
const MAX_RESTART_MS = 30_000;
/** A thread that ran this long before it died starts the backoff over. */
const HEALTHY_RUN_MS = 60_000;
const LOG_DROP_REASONS: Record<SegmentDropReason, DropReason> = {
  full: 'spool_full',
  backlog: 'backlog',
  io_error: 'io_error',
  closed: 'closed',
  invalid_size: 'encode_error',
};

export interface KafkaSinkOptions {
  /** A module whose `wrapProducer(real)` wraps the sender's producer: fault tests only (a slow broker). */
  producerModule?: string;
}

/**
 * Ships access events to Kafka from a local write-ahead log. `emit` appends the event to the log on the
 * proxy thread (the response it belongs to completes once it is written); a sender thread reads the log from
 * its checkpoint and sends it in batches, in order (sender.ts). While Kafka is away the log simply grows, up
 * to `events.max_bytes`. A sender thread that dies is replaced with backoff and resumes at the checkpoint.
 * See README.md.
 */
export class KafkaEventSink implements EventSink {
  readonly #config: KafkaSinkConfig;
  readonly #options: KafkaSinkOptions;
  readonly #segments: SegmentLog;
  readonly #state: SharedState;
  readonly #metrics: EventMetrics;
  readonly #logger: pino.Logger;
  readonly #warn: RateLimitedWarn;
  #worker: Worker | undefined;
  /** Set once the running thread has opened the log and published where it resumes. */
  #started = false;
  #emitted = 0;
  /** Appended records the disk refused: never written, never sent. */
  #lostToDisk = 0;
  #closing = false;
  #closed: Promise<void> | undefined;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #onClosed: ((unsentEvents: number) => void) | undefined;

  /** Opens (and recovers) the log under `${config.dir}/spool`, then starts the sender; never waits for Kafka. */
  static async open(
    config: KafkaSinkConfig,
    metrics: EventMetrics,
    logger: pino.Logger,
    options: KafkaSinkOptions = {},
  ): Promise<KafkaEventSink> {
    let sink: KafkaEventSink | undefined;
    const state = new SharedState();
    const segments = await SegmentLog.open(join(config.dir, 'spool'), {
      maxTotalBytes: config.maxBytes,
      segmentBytes: segmentBytesFor(config.maxBytes),
      maxRecordBytes: MAX_RECORD_BYTES,
      maxPendingBytes: MAX_PENDING_BYTES,
      logger,
      onDrop: (count, reason) => {
        if (sink !== undefined) sink.#noteLogDrop(count, reason);
      },
      onWritten: (position, base, records) => state.publishWritten(position, base, records, config.batchEvents),
    });
    state.publishWritten(segments.writtenPosition, segments.writingBase, 0, config.batchEvents);
    sink = new KafkaEventSink(config, options, segments, state, metrics, logger);
    try {
      await sink.#spawn();
    } catch (error) {
      await segments.close();
      throw error;
    }
    return sink;
  }

  private constructor(
    config: KafkaSinkConfig,
    options: KafkaSinkOptions,
    segments: SegmentLog,
    state: SharedState,
    metrics: EventMetrics,
    logger: pino.Logger,
  ) {
    this.#config = config;
    this.#options = options;
    this.#segments = segments;
    this.#state = state;
    this.#metrics = metrics;
    this.#logger = logger;
    this.#warn = new RateLimitedWarn(logger);
    metrics.source.up = () => (state.state === 'up' ? 1 : 0);
    metrics.source.emitted = () => this.#emitted;
    metrics.source.spoolBytes = () => this.unsentBytes;
    metrics.source.spoolEvents = () => this.unsentEvents;
  }

  /** `unknown` until Kafka first answers or fails. */
  get state(): KafkaState {
    return this.#state.state;
  }

  /** Events in the log that Kafka has not acknowledged (those not yet written included). */
  get unsentEvents(): number {
    const stats = this.#segments.stats;
    const unwritten = Math.max(0, stats.appended - stats.written - this.#lostToDisk);
    return this.#state.unsentWritten(stats.written) + unwritten;
  }

  get unsentBytes(): number {
    return this.#started ? Math.max(0, this.#segments.endPosition - this.#state.readPosition) : 0;
  }

  /** The log writer's counters: `written` records survive a SIGKILL (they are in the page cache). */
  get logStats(): Readonly<SegmentLog['stats']> {
    return this.#segments.stats;
  }

  emit(event: AccessEvent, written?: () => void): void {
    let record: Buffer;
    try {
      record = encodeTransient(event);
    } catch (error) {
      this.unencodable(error as Error);
      written?.();
      return;
    }
    this.append(record, written);
  }

  unencodable(error: Error): void {
    this.#drop('encode_error', 1, error.message);
  }

  /** The log copies the record into its batch at once, so `record` may be a transient view. */
  append(record: Buffer, written?: () => void): void {
    if (this.#segments.append(record, written)) this.#emitted += 1;
  }

  /** Ends the sender thread abruptly, as a crash would; it is replaced as after any death (fault tests). */
  crashSender(): void {
    void this.#worker?.terminate();
  }

  /**
   * Writes and fsyncs the log (later events are dropped as `closed`), then lets the sender send what it holds
   * while Kafka is up, until half of `timeoutMs`; the rest stays in the log for the next start. Never takes
   * longer than `timeoutMs`.
   */
  close(timeoutMs: number): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  async #close(timeoutMs: number): Promise<void> {
    const startMs = performance.now();
    const deadlineMs = startMs + timeoutMs;
    this.#closing = true;
    clearTimeout(this.#restartTimer);
    await until(this.#segments.close(), deadlineMs);
    const worker = this.#worker;
    let unsentEvents = this.unsentEvents;
    if (worker !== undefined) {
      const closed = new Promise<number>((resolve) => {
        this.#onClosed = resolve;
        worker.once('exit', () => resolve(this.unsentEvents));
      });
      const leftMs = deadlineMs - performance.now();
      worker.postMessage({
        op: 'close',
        deliverMs: Math.max(0, startMs + timeoutMs / 2 - performance.now()),
        timeoutMs: Math.max(0, leftMs - 50),
      });
      await until(
        closed.then((n) => {
          unsentEvents = n;
        }),
        deadlineMs,
      );
      await worker.terminate();
    }
    this.#warn.flush();
    this.#logger.info({ unsentEvents, state: this.state }, 'kafka sink closed');
  }

  /** Starts a sender thread; resolves once it has opened the log, rejects when it could not. */
  #spawn(): Promise<void> {
    const workerData: SenderThreadOptions = {
      config: this.#config,
      dir: join(this.#config.dir, 'spool'),
      buffer: this.#state.buffer,
      producerModule: this.#options.producerModule,
    };
    const worker = new Worker(threadEntry('kafka-sender-thread', import.meta.url), {
      workerData,
      name: 'tollgate-kafka-sender',
    });
    this.#worker = worker;
    const startedMs = Date.now();
    return new Promise((resolve, reject) => {
      let ready = false;
      let failure: Error | undefined;
      worker.on('message', (m: FromSender) => {
        if (m.type === 'ready') {
          ready = true;
          this.#started = true;
          resolve();
        } else if (m.type === 'oldest') this.#segments.noteOldestSegment(m.base);
        else if (m.type === 'closed') this.#onClosed?.(m.unsentEvents);
        else writeThreadLog(this.#logger, m);
      });
      worker.on('error', (error) => {
        failure = error;
      });
      worker.on('exit', (code) => {
        if (this.#worker !== worker) return;
        this.#worker = undefined;
        this.#started = false;
        const error = failure ?? new Error(`kafka sender thread exited with code ${code}`);
        if (!ready) return reject(error);
        if (this.#closing) return;
        if (Date.now() - startedMs >= HEALTHY_RUN_MS) this.#restarts = 0;
        this.#replace(error);
      });
    });
  }

  /** The sender died: the log keeps every event, and another thread resumes at the checkpoint after a backoff. */
  #replace(error: Error): void {
    const delayMs = Math.min(MAX_RESTART_MS, FIRST_RESTART_MS * 2 ** this.#restarts);
    this.#restarts += 1;
    this.#state.setState('down');
    this.#logger.error(
      { err: error, delay_ms: delayMs, unsentEvents: this.unsentEvents },
      'kafka sink: sender thread died; replacing it (events wait in the log)',
    );
    this.#restartTimer = setTimeout(() => {
      if (this.#closing) return;
      this.#spawn().catch((e: unknown) => this.#replace(e as Error));
    }, delayMs);
  }

  #noteLogDrop(count: number, reason: SegmentDropReason): void {
    if (reason === 'io_error') this.#lostToDisk += count;
    this.#drop(LOG_DROP_REASONS[reason], count);
  }

  #drop(reason: DropReason, count: number, detail?: string): void {
    this.#metrics.dropped.inc({ reason }, count);
    this.#warn.note(reason, count, detail);
  }
}
