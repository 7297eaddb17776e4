/**
 * The cluster collector: consumes the access-event topic in a consumer group,
 * counts every event exactly once into per-source running totals
 * (source-totals.ts), writes raw events and the new cumulative rows to
 * ClickHouse, and commits Kafka offsets only after ClickHouse acknowledged
 * them all. Batches are written one at a time, in order (the next one is
 * counted meanwhile), and the stream pauses once a further batch is buffered,
 * so a ClickHouse outage stops consumption (lag grows) instead of losing data.
 */
import { Consumer } from '@platformatic/kafka';
import type { MessagesStream } from '@platformatic/kafka';
import { BatchWriter } from './batch-writer.ts';
import { countBatch } from './count-batch.ts';
import { ConsumerCloser } from './consumer-close.ts';
import type { Record_ } from './count-batch.ts';
import { DeadLetterSink, deadLetterTopic } from './dead-letter.ts';
import { emptyView } from '../aggregate/event-view.ts';
import { RawTsvBody } from './raw-tsv.ts';
import { outcomeWithin, retryUntilDone, StoppedError } from './retry.ts';
import { SourceTotals } from './source-totals.ts';

export { rawRow } from './raw-rows.ts';
export type { ClusterCollectorOptions, CollectorStats } from './collector-options.ts';
import {
  COLLECTOR_DEFAULTS,
  type ClusterCollectorOptions,
  type CollectorSettings,
  type CollectorStats,
} from './collector-options.ts';

export class ClusterCollector {
  readonly stats: CollectorStats = {
    counted: 0,
    redelivered: 0,
    duplicate: 0,
    deadLetter: 0,
    tooLate: 0,
    batches: 0,
    insertFailures: 0,
    redisErrors: 0,
  };
  readonly #options: CollectorSettings;
  readonly #sources = new Map<string, SourceTotals>();
  readonly #abort = new AbortController();
  readonly #deadLetters: DeadLetterSink;
  readonly #writer: BatchWriter;
  #consumer: Consumer | undefined;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #buffer: Record_[] = [];
  /** Reused by every flush (flushes run one at a time): no per-event objects or strings for decoding and raw rows. */
  readonly #view = emptyView();
  readonly #rawBodies = [new RawTsvBody(), new RawTsvBody()];
  #flushes = 0;
  /** The last counted batch's writes (never rejects); the next batch's writes start after it. */
  #writing: Promise<void> | undefined;
  #writeFailed: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #generation = 0;
  #loadedGeneration = 0;
  #stopping = false;
  /** Aborted when stop() begins: ends the connect loop's waits. */
  readonly #stopSignal = new AbortController();
  #failed: ((error: Error) => void) | undefined;
  /** The connect loop, or a reset after Kafka was lost, in progress. */
  #connecting: Promise<void> | undefined;
  #kafkaUp = false;
  #kafkaDownSinceMs = 0;
  /** Times Kafka was lost while consuming and the consumer was made anew. */
  reconnects = 0;
  readonly #closer: ConsumerCloser;

  constructor(options: ClusterCollectorOptions) {
    this.#options = { ...COLLECTOR_DEFAULTS, ...options };
    this.#closer = new ConsumerCloser(this.#stopSignal.signal, this.#options.logger);
    this.#deadLetters = new DeadLetterSink(options.brokers, deadLetterTopic(options.topic), this.#options.clientId);
    this.#writer = new BatchWriter({
      clickhouse: this.#options.clickhouse,
      deadLetters: this.#deadLetters,
      liveCounters: options.liveCounters,
      metrics: options.metrics,
      logger: this.#options.logger,
      stats: this.stats,
      retryInitialDelayMs: this.#options.retryInitialDelayMs,
      retryMaxDelayMs: this.#options.retryMaxDelayMs,
      signal: this.#abort.signal,
      tracer: options.tracer,
      topic: options.topic,
    });
    options.metrics?.observe(this.stats, options.liveCounters);
  }

  /** Whether the consumer is connected and in its group (the metrics server's /readyz). */
  get kafkaUp(): boolean {
    return this.#kafkaUp;
  }

  /**
   * Joins the group and starts consuming, in the background: with Kafka away it retries with backoff
   * (logged when it starts failing, each minute, and when it connects) and never gives up. `onFatal`
   * hears only an error that must end the process (a bug); a broker outage is never one.
   */
  async start(onFatal: (error: Error) => void): Promise<void> {
    this.#failed = onFatal;
    this.#kafkaDownSinceMs = Date.now();
    this.#connecting = this.#connect();
  }

  async #connect(): Promise<void> {
    const logger = this.#options.logger;
    let failures = 0;
    let nextLogMs = 0;
    try {
      await retryUntilDone(
        async () => {
          try {
            await this.#deadLetters.ensureTopic();
            await this.#subscribe();
          } catch (error) {
            await this.#closeConsumer();
            throw error;
          }
        },
        {
          initialDelayMs: this.#options.retryInitialDelayMs,
          maxDelayMs: this.#options.retryMaxDelayMs,
          signal: this.#stopSignal.signal,
          onFailure: (error) => {
            failures++;
            if (Date.now() < nextLogMs) return;
            logger.warn(
              { err: error, failures },
              'kafka: cannot connect; retrying with backoff (logged again each minute)',
            );
            nextLogMs = Date.now() + 60_000;
          },
        },
      );
    } catch (error) {
      if (error instanceof StoppedError) return; // stopped while Kafka was away: nothing to consume
      throw error;
    }
    this.#kafkaUp = true;
    if (failures > 0 || this.reconnects > 0)
      logger.info({ down_ms: Date.now() - this.#kafkaDownSinceMs, failures }, 'kafka: consuming again');
  }

  async #subscribe(): Promise<void> {
    const consumer = new Consumer({
      clientId: this.#options.clientId,
      groupId: this.#options.groupId,
      bootstrapBrokers: this.#options.brokers,
      sessionTimeout: this.#options.sessionTimeoutMs,
      heartbeatInterval: 1000,
      maxBytes: this.#options.fetchMaxBytes,
      maxBytesPerPartition: this.#options.fetchMaxBytes,
    });
    this.#consumer = consumer;
    // A failed rejoin is emitted as 'error': unheard, it would end the process. Only the current consumer's count.
    consumer.on('error', (error: Error) => {
      if (this.#consumer === consumer) this.#lost(error);
    });
    // A (re)join may hand us partitions another member advanced: reload their totals.
    consumer.on('consumer:group:join', () => this.#generation++);
    const stream = await consumer.consume({
      topics: [this.#options.topic],
      autocommit: false,
      mode: 'committed',
      fallbackMode: 'earliest',
    });
    this.#stream = stream;
    // A stream given up in a reset may still deliver what it had fetched: only the current one's records count.
    stream.on('data', (message: Record_) => {
      if (this.#stream === stream) this.#onRecord(message);
    });
    stream.on('error', (error: Error) => {
      if (this.#stream === stream) this.#lost(error);
    });
    const metrics = this.#options.metrics;
    if (metrics) {
      consumer.on('consumer:lag', (lag) => metrics.setLag(lag));
      consumer.startLagMonitoring({ topics: [this.#options.topic] }, this.#options.lagIntervalMs);
    }
  }

  /**
   * Kafka went away while consuming. Batches already counted are written to ClickHouse (their commits fail:
   * redelivered, then skipped below the marks the reloaded totals hold); records not yet counted are dropped
   * and redelivered. A new consumer then resumes from the committed offsets, as a restarted process would.
   */
  #lost(error: Error): void {
    if (this.#stopping || !this.#kafkaUp) return;
    this.#kafkaUp = false;
    this.#kafkaDownSinceMs = Date.now();
    this.reconnects++;
    this.#options.logger.warn(
      { err: error },
      'kafka: lost while consuming; reconnecting (uncommitted records are redelivered and counted once)',
    );
    this.#connecting = this.#reset().then(() => this.#connect());
  }

  async #reset(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stream?.pause();
    await this.#flushing;
    await this.#writing;
    await this.#closeConsumer();
    this.#buffer = [];
    // The next batch reloads the totals from ClickHouse and re-marks the live counters, as after a rejoin.
    this.#generation++;
  }

  async #closeConsumer(): Promise<void> {
    const stream = this.#stream;
    const consumer = this.#consumer;
    this.#stream = undefined;
    this.#consumer = undefined;
    if (stream) await outcomeWithin(stream.close(), 5000, 'stream close');
    consumer?.stopLagMonitoring();
    if (consumer) await this.#closer.close(consumer);
  }

  /** Finishes the batch in hand (bounded by timeoutMs while ClickHouse is away), commits, leaves the group. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    this.#stopSignal.abort();
    clearTimeout(this.#timer);
    const giveUp = setTimeout(() => this.#abort.abort(), timeoutMs);
    try {
      await this.#connecting;
      this.#stream?.pause();
      await this.#flushing;
      while (!this.#abort.signal.aborted && this.#buffer.length > 0 && !this.#writeFailed) await this.#flush();
      await this.#writing;
    } finally {
      clearTimeout(giveUp);
      this.#abort.abort();
      this.#kafkaUp = false;
      await this.#closeConsumer();
      await this.#closer.drain();
      await this.#deadLetters.close().catch(() => {});
    }
  }

  #onRecord(message: Record_): void {
    this.#buffer.push(message);
    if (this.#stopping) return;
    // The stream keeps fetching while a batch is written, so the next batch is
    // ready when the writes finish; it pauses once that batch is full (memory
    // stays bounded at three batches: written, counted, buffered; and a
    // ClickHouse outage still stops consumption).
    if (this.#flushing) {
      if (this.#buffer.length >= this.#options.batchMaxEvents) this.#stream?.pause();
      return;
    }
    if (this.#buffer.length >= this.#options.batchMaxEvents) this.#startFlush();
    else this.#timer ??= setTimeout(() => this.#startFlush(), this.#options.batchMaxWaitMs);
  }

  #startFlush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing || this.#stopping) return;
    this.#flushing = this.#flush()
      .catch((error: Error) => {
        if (!(error instanceof StoppedError)) this.#fatal(error);
      })
      .finally(() => {
        this.#flushing = undefined;
        if (this.#stopping) return;
        this.#stream?.resume();
        if (this.#buffer.length >= this.#options.batchMaxEvents) this.#startFlush();
        else if (this.#buffer.length > 0)
          this.#timer ??= setTimeout(() => this.#startFlush(), this.#options.batchMaxWaitMs);
      });
  }

  /**
   * Counts the next batch, then hands it to the writer once the previous
   * batch's writes are done: counting (CPU) overlaps the previous batch's
   * ClickHouse, Redis and commit round trips (waiting), while writes and
   * commits stay one batch at a time and in order. At most two batches are
   * held: one written, one counted.
   */
  async #flush(): Promise<void> {
    const batch =
      this.#buffer.length > this.#options.batchMaxEvents
        ? this.#buffer.splice(0, this.#options.batchMaxEvents)
        : this.#buffer;
    if (batch === this.#buffer) this.#buffer = [];
    if (batch.length === 0) return;
    const startedMs = performance.now();
    if (this.#loadedGeneration !== this.#generation) {
      // Totals are reloaded from ClickHouse: none of our writes may be in flight.
      await this.#writing;
      this.#sources.clear();
      this.#options.liveCounters?.reassigned();
      this.#loadedGeneration = this.#generation;
    }
    // Two bodies in turn: one may still be in the previous batch's insert.
    const rawBody = this.#rawBodies[this.#flushes++ % 2];
    rawBody.reset();
    const counted = await countBatch(batch, {
      stats: this.stats,
      view: this.#view,
      rawBody,
      totals: this.#totalsOf,
      nowMs: this.#options.now(),
      startedMs,
    });
    await this.#writing;
    if (this.#writeFailed) throw this.#writeFailed;
    this.#writing = this.#writer.write(counted).catch((error: Error) => {
      // Nothing after a failed batch may be written or committed: its events would be skipped.
      this.#writeFailed = error;
      if (!(error instanceof StoppedError)) this.#fatal(error);
    });
  }

  readonly #totalsOf = async (source: string, nowMs: number): Promise<SourceTotals> => {
    let totals = this.#sources.get(source);
    if (totals) return totals;
    totals = new SourceTotals(source, {
      latenessMs: this.#options.latenessMs,
      dedupOffsets: this.#options.dedupOffsets,
    });
    const loading = totals;
    await this.#writer.retry('load totals', () => loading.load(this.#options.clickhouse, nowMs));
    this.#sources.set(source, totals);
    this.#options.logger.info({ source }, 'loaded running totals');
    return totals;
  };

  #fatal(error: Error): void {
    this.#options.logger.error({ err: error }, 'collector failed');
    this.#failed?.(error);
  }
}
