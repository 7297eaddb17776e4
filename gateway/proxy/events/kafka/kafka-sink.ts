import type pino from 'pino';
import type { AccessEvent } from '../../../../shared/access-event.ts';
import { encodeTransient } from '../../../../shared/access-event-codec.ts';
import type { EventMetrics } from '../../../metrics.ts';
import type { DropReason as SegmentDropReason } from '../../../../shared/segment-log/segment-log.ts';
import type { DropReason, EventSink } from '../sink.ts';
import { RateLimitedWarn } from '../warn.ts';
import type { KafkaSinkConfig } from './config.ts';
import type { EventProducer } from './producer.ts';
import type { KafkaLog, LogBatch } from './log.ts';
import { withTimeout } from '../../../../shared/with-timeout.ts';
import { until, Waker } from './waits.ts';

/** `unknown` until Kafka first answers or fails. */
export type KafkaState = 'unknown' | 'up' | 'down';

// Raw bytes per send. Kafka refuses a record batch over message.max.bytes (1 MiB by
// default); events are ~150 B but may reach ~37 KB, so a count alone is no bound.
const MAX_BATCH_BYTES = 512 * 1024;
const FIRST_RETRY_MS = 100;
// Short enough that a returning Kafka is noticed within a couple of seconds.
const MAX_RETRY_MS = 2000;
// The loop runs on the gateway's main thread. Its waits normally end on a timer or on
// the network, but should every one of them resolve at once (a log read finding
// nothing without touching the disk, a client failing or answering synchronously) it
// would run on microtasks alone and freeze the proxy; every this many turns it lets
// the event loop (timers, sockets) run. Costs one setImmediate per this many batches.
const TURNS_PER_YIELD = 64;
const LOG_DROP_REASONS: Record<SegmentDropReason, DropReason> = {
  full: 'spool_full',
  backlog: 'backlog',
  io_error: 'io_error',
  closed: 'closed',
  invalid_size: 'encode_error',
};

/**
 * Ships access events to Kafka from a local write-ahead log. `emit` appends the
 * event to the log (the response it belongs to completes once it is written);
 * the sender reads the log from its checkpoint and sends it in batches, in
 * order, committing the checkpoint after each acknowledgement. While Kafka is
 * away the log simply grows, up to `events.max_bytes`. See README.md.
 */
export class KafkaEventSink implements EventSink {
  readonly #config: KafkaSinkConfig;
  readonly #producer: EventProducer;
  readonly #log: KafkaLog;
  readonly #metrics: EventMetrics;
  readonly #logger: pino.Logger;
  readonly #warn: RateLimitedWarn;
  readonly #waker = new Waker();
  readonly #abort = Promise.withResolvers<never>();
  #state: KafkaState = 'unknown';
  #failures = 0;
  #emitted = 0;
  /** performance.now() when the oldest unsent event may have been appended: a batch goes out flush_ms after it. */
  #unsentSinceMs = 0;
  #closing = false;
  #closed: Promise<void> | undefined;
  #deliverUntilMs = Infinity;
  #loop: Promise<void> = Promise.resolve();

  constructor(
    config: KafkaSinkConfig,
    producer: EventProducer,
    log: KafkaLog,
    metrics: EventMetrics,
    logger: pino.Logger,
  ) {
    this.#config = config;
    this.#producer = producer;
    this.#log = log;
    this.#metrics = metrics;
    this.#logger = logger;
    this.#warn = new RateLimitedWarn(logger);
    this.#abort.promise.catch(() => undefined);
    metrics.sinkUp.set(0);
    metrics.source.emitted = () => this.#emitted;
    metrics.source.spoolBytes = () => this.#log.unsentBytes;
    metrics.source.spoolEvents = () => this.#log.unsentEvents;
  }

  /** Starts sending; called once by createKafkaSink. */
  start(): void {
    this.#loop = this.#run().catch((error: unknown) =>
      this.#logger.error({ err: error }, 'kafka sink: sender stopped'),
    );
  }

  get state(): KafkaState {
    return this.#state;
  }

  /** Events in the log that Kafka has not acknowledged. */
  get unsentEvents(): number {
    return this.#log.unsentEvents;
  }

  /** The log writer's counters: `written` records survive a SIGKILL (they are in the page cache). */
  get logStats(): Readonly<KafkaLog['stats']> {
    return this.#log.stats;
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

  /** The log copies what it keeps in memory, so `record` may be a transient view. */
  append(record: Buffer, written?: () => void): void {
    const wasPending = this.#log.pending;
    if (!this.#log.append(record, written)) return;
    this.#emitted += 1;
    if (!wasPending) {
      this.#unsentSinceMs = performance.now();
      this.#waker.wake();
    } else if (this.#log.unsentEvents === this.#config.batchEvents) {
      this.#waker.wake();
    }
  }

  /**
   * Sends what the log holds while Kafka is up, for at most half of `timeoutMs`;
   * the rest stays in the log for the next start. Then fsyncs the log and closes
   * the client. Later events are dropped as `closed`.
   */
  close(timeoutMs: number): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  /** Drops the log reports (coalesced), under the sink's reasons. */
  noteLogDrop(count: number, reason: SegmentDropReason): void {
    this.#drop(LOG_DROP_REASONS[reason], count);
  }

  async #close(timeoutMs: number): Promise<void> {
    const deadlineMs = performance.now() + timeoutMs;
    this.#closing = true;
    this.#deliverUntilMs = performance.now() + timeoutMs / 2;
    const stopSending = setTimeout(() => this.#abort.reject(new Error('closing')), timeoutMs / 2);
    this.#waker.wake();
    await until(this.#loop, deadlineMs);
    clearTimeout(stopSending);
    this.#abort.reject(new Error('closing'));
    await until(this.#log.close(), deadlineMs);
    await until(this.#producer.close(), deadlineMs);
    this.#warn.flush();
    this.#logger.info({ unsentEvents: this.#log.unsentEvents, state: this.#state }, 'kafka sink closed');
  }

  async #run(): Promise<void> {
    await this.#log.countUnsent(() => this.#closing);
    this.#unsentSinceMs = performance.now();
    if (!this.#closing) await this.#probe();
    for (let turn = 1; ; turn++) {
      if (turn % TURNS_PER_YIELD === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#closing) {
        if (this.#state !== 'up' || !this.#log.pending || performance.now() >= this.#deliverUntilMs) return;
        await this.#send();
      } else if (this.#state === 'down') {
        await this.#waker.sleep(this.#retryDelayMs());
        if (this.#closing) continue;
        if (this.#log.pending) await this.#send();
        else await this.#probe();
      } else if (this.#log.pending) {
        const waitedMs = performance.now() - this.#unsentSinceMs;
        if (this.#log.unsentEvents >= this.#config.batchEvents || waitedMs >= this.#config.flushMs) await this.#send();
        else await this.#waker.sleep(this.#config.flushMs - waitedMs);
      } else {
        await this.#waker.sleep(Infinity);
      }
    }
  }

  /** Sends the oldest unsent events, one batch. */
  async #send(): Promise<void> {
    let batch: LogBatch;
    try {
      batch = await this.#log.read(this.#config.batchEvents, MAX_BATCH_BYTES);
    } catch (error) {
      this.#logger.error({ err: error }, 'kafka sink: cannot read the log');
      await this.#waker.sleep(MAX_RETRY_MS);
      return;
    }
    if (batch.records.length === 0) return;
    const error = await this.#deliver(batch.records);
    if (error !== undefined) return this.#markDown(error);
    this.#log.delivered(batch.next, batch.records.length);
    // What is left is younger than what was sent: a short rest waits at most flush_ms more.
    if (this.#log.unsentEvents < this.#config.batchEvents) this.#unsentSinceMs = performance.now();
    this.#markUp();
  }

  async #probe(): Promise<void> {
    const error = await this.#bounded(this.#producer.connect()).then(
      () => undefined,
      (e: unknown) => e ?? new Error('no answer'),
    );
    if (error === undefined) this.#markUp();
    else this.#markDown(error);
  }

  /** undefined once Kafka acknowledged, else why not. */
  #deliver(records: Buffer[]): Promise<unknown> {
    return this.#bounded(this.#producer.send(records)).then(
      () => undefined,
      (error: unknown) => error ?? new Error('send failed'),
    );
  }

  /** The library's timeouts are per request; this bounds a whole call, and close() cuts it short. */
  #bounded<T>(operation: Promise<T>): Promise<T> {
    const timeoutMs = this.#config.timeoutMs;
    return withTimeout(operation, timeoutMs, `Kafka did not answer within ${timeoutMs} ms`, this.#abort.promise);
  }

  #markUp(): void {
    this.#failures = 0;
    if (this.#state === 'up') return;
    this.#state = 'up';
    this.#metrics.sinkUp.set(1);
    this.#logger.info(
      { unsentEvents: this.#log.unsentEvents },
      'kafka sink: Kafka is reachable; sending the log from its checkpoint',
    );
  }

  #markDown(error: unknown): void {
    this.#failures += 1;
    if (this.#state === 'down') {
      this.#logger.debug({ err: error, failures: this.#failures }, 'kafka sink: Kafka still unreachable');
      return;
    }
    this.#state = 'down';
    this.#metrics.sinkUp.set(0);
    if (this.#closing)
      this.#logger.info(
        { unsentEvents: this.#log.unsentEvents },
        'kafka sink: closing before Kafka acknowledged; the rest waits in the log',
      );
    else
      this.#logger.warn(
        { err: error, unsentEvents: this.#log.unsentEvents },
        'kafka sink: Kafka unreachable; events wait in the log on disk',
      );
  }

  #retryDelayMs(): number {
    const delayMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, this.#failures - 1));
    // Jitter, so gateways do not all reconnect in the same instant.
    return delayMs * (0.8 + Math.random() * 0.4);
  }

  #drop(reason: DropReason, count: number, detail?: string): void {
    this.#metrics.dropped.inc({ reason }, count);
    this.#warn.note(reason, count, detail);
  }
}
