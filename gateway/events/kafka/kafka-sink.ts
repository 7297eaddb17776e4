import type pino from 'pino';
import type { AccessEvent } from '../../../shared/access-event.ts';
import { encode } from '../../../shared/access-event-codec.ts';
import type { EventMetrics } from '../../metrics.ts';
import type { DropReason as SegmentDropReason } from '../../../shared/segment-log/segment-log.ts';
import type { DropReason, EventSink } from '../sink.ts';
import { RateLimitedWarn } from '../warn.ts';
import type { ResolvedKafkaSinkConfig } from './config.ts';
import { MemoryQueue } from './memory-queue.ts';
import type { EventProducer } from './producer.ts';
import type { KafkaSpool } from './spool.ts';
import { until, Waker, withTimeout } from './waits.ts';

/** `unknown` until Kafka first answers or fails; events wait in memory while it is not `down`. */
export type KafkaState = 'unknown' | 'up' | 'down';

/** A memory batch being sent; `spooled` once it was also copied to the spool meanwhile. */
interface InflightBatch {
  records: Buffer[];
  bytes: number;
  spooled?: { start: number; end: number };
}

// Raw bytes per send. Kafka refuses a record batch over message.max.bytes (1 MiB by
// default); events are ~150 B but may reach ~37 KB, so a count alone is no bound.
const MAX_BATCH_BYTES = 512 * 1024;
const FIRST_RETRY_MS = 100;
// Short enough that a returning Kafka is noticed within a couple of seconds.
const MAX_RETRY_MS = 2000;
// The loop runs on the gateway's main thread. Its waits normally end on a timer or on
// the network, but should every one of them resolve at once (a spool read finding
// nothing without touching the disk, a client failing or answering synchronously) it
// would run on microtasks alone and freeze the proxy; every this many turns it lets
// the event loop (timers, sockets) run. Costs one setImmediate per this many batches.
const TURNS_PER_YIELD = 64;
const SPOOL_DROP_REASONS: Record<SegmentDropReason, DropReason> = {
  full: 'spool_full', backlog: 'backlog', io_error: 'io_error', closed: 'closed', invalid_size: 'encode_error',
};

/**
 * Sends access events to Kafka in batches; while Kafka is away they go to a
 * bounded disk spool and are sent, in order, when it returns. The stream is
 * always spool (older) then memory: memory is sent only when the spool is
 * empty, and moves to the spool whole. See README.md.
 */
export class KafkaEventSink implements EventSink {
  readonly #config: ResolvedKafkaSinkConfig;
  readonly #producer: EventProducer;
  readonly #spool: KafkaSpool;
  readonly #memory: MemoryQueue;
  readonly #metrics: EventMetrics;
  readonly #log: pino.Logger;
  readonly #warn: RateLimitedWarn;
  readonly #waker = new Waker();
  readonly #abort = Promise.withResolvers<never>();
  #inflight: InflightBatch | undefined;
  #state: KafkaState = 'unknown';
  #failures = 0;
  #emitted = 0;
  #closing = false;
  #closed: Promise<void> | undefined;
  #deliverUntilMs = Infinity;
  #loop: Promise<void> = Promise.resolve();

  constructor(config: ResolvedKafkaSinkConfig, producer: EventProducer, spool: KafkaSpool, metrics: EventMetrics, log: pino.Logger) {
    this.#config = config;
    this.#producer = producer;
    this.#spool = spool;
    this.#memory = new MemoryQueue(config.maxQueueEvents, config.maxQueueBytes);
    this.#metrics = metrics;
    this.#log = log;
    this.#warn = new RateLimitedWarn(log);
    this.#abort.promise.catch(() => undefined);
    metrics.sinkUp.set(0);
    metrics.source.emitted = () => this.#emitted;
    metrics.source.spoolBytes = () => this.#spool.unsentBytes;
    metrics.source.spoolEvents = () => this.#spool.unsentEvents;
  }

  /** Starts sending; called once by createKafkaSink. */
  start(): void {
    this.#loop = this.#run().catch((error: unknown) => this.#log.error({ err: error }, 'kafka sink: sender stopped'));
  }

  get state(): KafkaState {
    return this.#state;
  }

  /** Events (and bytes) held in memory now, and the most ever held: never past the bounds. */
  get queuedEvents(): number {
    return this.#memory.length;
  }

  get queuedBytes(): number {
    return this.#memory.bytes;
  }

  get peakQueuedEvents(): number {
    return this.#memory.peakEvents;
  }

  get peakQueuedBytes(): number {
    return this.#memory.peakBytes;
  }

  /** Events on disk not yet acknowledged by Kafka. */
  get spooledEvents(): number {
    return this.#spool.unsentEvents;
  }

  get spoolStats(): Readonly<KafkaSpool['stats']> {
    return this.#spool.stats;
  }

  emit(event: AccessEvent): void {
    if (this.#closing) return this.#drop('closed', 1);
    let record: Buffer;
    try {
      record = encode(event);
    } catch (error) {
      return this.#drop('encode_error', 1, (error as Error).message);
    }
    this.#emitted += 1;
    if (this.#state === 'down') {
      this.#spool.append(record);
      return;
    }
    // Kafka slower than the gateway: the excess goes to disk, not RAM.
    if (this.#memory.wouldOverflow(record.length)) this.#spill();
    this.#memory.push(record);
    if (this.#memory.length === 1 || this.#memory.length === this.#config.batchEvents) this.#waker.wake();
  }

  /**
   * Sends what memory holds if Kafka is up (for at most half of `timeoutMs`),
   * otherwise spools it; then fsyncs the spool and closes the client.
   */
  close(timeoutMs: number): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  /** Drops the spool reports (coalesced), under the sink's reasons. */
  noteSpoolDrop(count: number, reason: SegmentDropReason): void {
    this.#drop(SPOOL_DROP_REASONS[reason], count);
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
    this.#spill();
    await until(this.#spool.close(), deadlineMs);
    await until(this.#producer.close(), deadlineMs);
    this.#warn.flush();
    this.#log.info({ spooledEvents: this.#spool.unsentEvents, state: this.#state }, 'kafka sink closed');
  }

  async #run(): Promise<void> {
    await this.#spool.countUnsent(() => this.#closing);
    if (!this.#closing) await this.#probe();
    for (let turn = 1; ; turn++) {
      if (turn % TURNS_PER_YIELD === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#closing) {
        // Memory goes to Kafka only while nothing older waits on disk; the spool stays for the next start.
        const sendable = this.#state === 'up' && !this.#spool.pending && this.#memory.length > 0;
        if (!sendable || performance.now() >= this.#deliverUntilMs) return;
        await this.#sendFromMemory();
      } else if (this.#state === 'down') {
        await this.#waker.sleep(this.#retryDelayMs());
        if (this.#closing) continue;
        if (this.#spool.pending) await this.#sendFromSpool();
        else await this.#probe();
      } else if (this.#spool.pending) {
        await this.#sendFromSpool();
      } else if (this.#memory.length > 0) {
        const waitedMs = performance.now() - this.#memory.sinceMs;
        if (this.#memory.length >= this.#config.batchEvents || waitedMs >= this.#config.flushMs) await this.#sendFromMemory();
        else await this.#waker.sleep(this.#config.flushMs - waitedMs);
      } else {
        await this.#waker.sleep(Infinity);
      }
    }
  }

  async #sendFromMemory(): Promise<void> {
    const batch: InflightBatch = this.#memory.take(this.#config.batchEvents, MAX_BATCH_BYTES);
    this.#inflight = batch;
    const error = await this.#deliver(batch.records);
    this.#inflight = undefined;
    if (error === undefined) {
      if (batch.spooled && !this.#spool.skip(batch.spooled.start, batch.spooled.end, batch.records.length)) {
        this.#log.warn(batch.spooled, 'kafka sink: a delivered batch is also in the spool and will be sent again');
      }
      return this.#markUp();
    }
    // It is older than anything in memory, so it goes to the spool before memory does (in #markDown).
    if (!batch.spooled) for (const record of batch.records) this.#spool.append(record);
    this.#markDown(error);
  }

  async #sendFromSpool(): Promise<void> {
    let batch;
    try {
      batch = await this.#spool.read(this.#config.batchEvents, MAX_BATCH_BYTES);
    } catch (error) {
      this.#log.error({ err: error }, 'kafka sink: cannot read the spool');
      await this.#waker.sleep(MAX_RETRY_MS);
      return;
    }
    if (batch.records.length === 0) return;
    const error = await this.#deliver(batch.records);
    if (error !== undefined) return this.#markDown(error);
    this.#spool.delivered(batch.next, batch.records.length);
    this.#markUp();
  }

  async #probe(): Promise<void> {
    const error = await this.#bounded(this.#producer.connect()).then(() => undefined, (e: unknown) => e ?? new Error('no answer'));
    if (error === undefined) this.#markUp();
    else this.#markDown(error);
  }

  /** undefined once Kafka acknowledged, else why not. */
  #deliver(records: Buffer[]): Promise<unknown> {
    return this.#bounded(this.#producer.send(records)).then(() => undefined, (error: unknown) => error ?? new Error('send failed'));
  }

  /** The library's timeouts are per request; this bounds a whole call, and close() cuts it short. */
  #bounded<T>(operation: Promise<T>): Promise<T> {
    const timeoutMs = this.#config.timeoutMs;
    return withTimeout(operation, timeoutMs, this.#abort.promise, `Kafka did not answer within ${timeoutMs} ms`);
  }

  /**
   * Moves memory to the end of the spool. A batch in flight is older than memory,
   * so it is copied first when the spool can take all of it; if its send then
   * succeeds, the copy is skipped (see #sendFromMemory). When the spool cannot,
   * a failed in-flight batch lands after the spilled events: order gives way
   * only when the spool is all but full.
   */
  #spill(): void {
    const inflight = this.#inflight;
    if (inflight && !inflight.spooled && this.#spool.fits(inflight.bytes, inflight.records.length)) {
      const start = this.#spool.endPosition;
      for (const record of inflight.records) this.#spool.append(record);
      inflight.spooled = { start, end: this.#spool.endPosition };
    }
    for (const record of this.#memory.takeAll()) this.#spool.append(record);
  }

  #markUp(): void {
    this.#failures = 0;
    if (this.#state === 'up') return;
    this.#state = 'up';
    this.#metrics.sinkUp.set(1);
    this.#log.info({ spooledEvents: this.#spool.unsentEvents }, 'kafka sink: Kafka is reachable; sending the spool first');
  }

  #markDown(error: unknown): void {
    this.#failures += 1;
    if (this.#state === 'down') {
      this.#log.debug({ err: error, failures: this.#failures }, 'kafka sink: Kafka still unreachable');
      return;
    }
    this.#state = 'down';
    this.#metrics.sinkUp.set(0);
    this.#spill();
    if (this.#closing) this.#log.info({ spooledEvents: this.#spool.unsentEvents }, 'kafka sink: closing before Kafka acknowledged; the rest waits in the spool');
    else this.#log.warn({ err: error, spooledEvents: this.#spool.unsentEvents }, 'kafka sink: Kafka unreachable; spooling events to disk');
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
