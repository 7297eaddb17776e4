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
import type { Message, MessagesStream } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { EventDecodeError } from '../../shared/access-event-codec.ts';
import type { ClickHouseClient } from '../clickhouse/http-client.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { LiveCounters, LiveEvent } from './live-counters.ts';
import type { CollectorMetrics } from './metrics.ts';
import { DeadLetterSink, deadLetterTopic } from './dead-letter.ts';
import { retryUntilDone, StoppedError } from './retry.ts';
import { SourceTotals } from './source-totals.ts';
import type { AggregateRow } from './source-totals.ts';
import { tsvString } from './raw-rows.ts';
import { emptyView, readEvent } from './event-view.ts';
import { RawTsvBody } from './raw-tsv.ts';

export { rawRow } from './raw-rows.ts';

export interface ClusterCollectorOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId?: string;
  /** Client whose default database holds the migrated tables. */
  clickhouse: ClickHouseClient;
  logger: Logger;
  /**
   * A batch is flushed at this many records (default 20000)… Fewer, larger
   * ClickHouse inserts: at 5000 the collector waited on ClickHouse round trips
   * more than it worked (half the events/s at the same CPU per event).
   */
  batchMaxEvents?: number;
  /** …or this long after its first record arrived (default 200). */
  batchMaxWaitMs?: number;
  /** Events older than this are dead-lettered, not counted (default 48 h). */
  latenessMs?: number;
  /** How far back, in offsets of one partition, a repeated event_id is a duplicate (default 1,000,000). */
  dedupOffsets?: number;
  /** How long the group waits for a silent member (e.g. SIGKILLed) before reassigning its partitions (default 10000). */
  sessionTimeoutMs?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  now?: () => number;
  /** Best-effort Redis live counters, updated after ClickHouse acked and before the commit. */
  liveCounters?: LiveCounters;
  metrics?: CollectorMetrics;
  /** How often consumer lag is measured for metrics (default 5000). */
  lagIntervalMs?: number;
  /**
   * Most bytes one fetch returns (default 1 MiB, ~20k lz4-compressed events).
   * The client's 50 MB default buffered the whole backlog as message objects:
   * unbounded memory, old-generation GC, and Node's stream buffer splicing a
   * huge array (a tenth of the collector's CPU).
   */
  fetchMaxBytes?: number;
}

export interface CollectorStats {
  counted: number;
  /** Redelivered records already in the totals (below every mark they touch). */
  redelivered: number;
  duplicate: number;
  deadLetter: number;
  tooLate: number;
  batches: number;
  insertFailures: number;
  /** Batches whose live counters could not reach Redis (skipped; ClickHouse unaffected). */
  redisErrors: number;
}

type Record_ = Message<Buffer, Buffer, Buffer, Buffer>;

/** One partition's share of a batch. */
interface PartitionBatch {
  source: string;
  /** The source as TSV-escaped bytes, for every raw row of the partition. */
  sourceTsv: Buffer;
  totals: SourceTotals;
  /** The totals' dirtyRows() snapshot this batch writes. */
  snapshot: number;
  /** Its newest record: committing it commits the partition up to there. */
  last: Record_;
  live: LiveEvent[];
}

/** A batch counted and waiting for (or in) its writes. */
interface CountedBatch {
  records: number;
  parts: PartitionBatch[];
  deadLetters: DeadLetter[];
  rawBody: RawTsvBody;
  hourly: AggregateRow[];
  daily: AggregateRow[];
  nowMs: number;
  startedMs: number;
  countMs: number;
}

export class ClusterCollector {
  readonly stats: CollectorStats = { counted: 0, redelivered: 0, duplicate: 0, deadLetter: 0, tooLate: 0, batches: 0, insertFailures: 0, redisErrors: 0 };
  readonly #options: Required<Omit<ClusterCollectorOptions, 'clientId' | 'liveCounters' | 'metrics'>> & Pick<ClusterCollectorOptions, 'liveCounters' | 'metrics'> & { clientId: string };
  readonly #sources = new Map<string, SourceTotals>();
  readonly #abort = new AbortController();
  #deadLetters: DeadLetterSink;
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
  #failed: ((error: Error) => void) | undefined;

  constructor(options: ClusterCollectorOptions) {
    this.#options = {
      clientId: 'tollgate-collector',
      batchMaxEvents: 20_000,
      batchMaxWaitMs: 200,
      latenessMs: 48 * 3600_000,
      dedupOffsets: 1_000_000,
      sessionTimeoutMs: 10_000,
      retryInitialDelayMs: 100,
      retryMaxDelayMs: 5000,
      lagIntervalMs: 5000,
      fetchMaxBytes: 1 << 20,
      now: Date.now,
      ...options,
    };
    this.#deadLetters = new DeadLetterSink(options.brokers, deadLetterTopic(options.topic), this.#options.clientId);
    options.metrics?.observe(this.stats, () => options.liveCounters?.up);
  }

  /** Joins the group and starts consuming; `onFatal` hears an error that must end the process. */
  async start(onFatal: (error: Error) => void): Promise<void> {
    this.#failed = onFatal;
    await this.#deadLetters.ensureTopic();
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
    // A (re)join may hand us partitions another member advanced: reload their totals.
    consumer.on('consumer:group:join', () => this.#generation++);
    const stream = await consumer.consume({ topics: [this.#options.topic], autocommit: false, mode: 'committed', fallbackMode: 'earliest' });
    this.#stream = stream;
    stream.on('data', (message: Record_) => this.#onRecord(message));
    stream.on('error', (error: Error) => this.#fatal(error));
    const metrics = this.#options.metrics;
    if (metrics) {
      consumer.on('consumer:lag', (lag) => metrics.setLag(lag));
      consumer.startLagMonitoring({ topics: [this.#options.topic] }, this.#options.lagIntervalMs);
    }
  }

  /** Finishes the batch in hand (bounded by timeoutMs while ClickHouse is away), commits, leaves the group. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    const giveUp = setTimeout(() => this.#abort.abort(), timeoutMs);
    try {
      this.#stream?.pause();
      await this.#flushing;
      while (!this.#abort.signal.aborted && this.#buffer.length > 0 && !this.#writeFailed) await this.#flush();
      await this.#writing;
    } finally {
      clearTimeout(giveUp);
      this.#abort.abort();
      await this.#stream?.close().catch(() => {});
      this.#consumer?.stopLagMonitoring();
      await this.#consumer?.close(true).catch(() => {});
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
        else if (this.#buffer.length > 0) this.#timer ??= setTimeout(() => this.#startFlush(), this.#options.batchMaxWaitMs);
      });
  }

  /**
   * Counts the next batch, then hands it to #write once the previous batch's
   * writes are done: counting (CPU) overlaps the previous batch's ClickHouse,
   * Redis and commit round trips (waiting), while writes and commits stay one
   * batch at a time and in order. At most two batches are held: one written,
   * one counted.
   */
  async #flush(): Promise<void> {
    const batch = this.#buffer.length > this.#options.batchMaxEvents ? this.#buffer.splice(0, this.#options.batchMaxEvents) : this.#buffer;
    if (batch === this.#buffer) this.#buffer = [];
    if (batch.length === 0) return;
    const startedMs = performance.now();
    if (this.#loadedGeneration !== this.#generation) {
      // Totals are reloaded from ClickHouse: none of our writes may be in flight.
      await this.#writing;
      this.#sources.clear();
      this.#loadedGeneration = this.#generation;
    }
    const nowMs = this.#options.now();
    const view = this.#view;
    // Two bodies in turn: one may still be in the previous batch's insert.
    const rawBody = (this.#rawBodies[this.#flushes++ % 2]);
    rawBody.reset();
    const deadLetters: DeadLetter[] = [];
    // Keyed by topic and partition number: no string is built per record.
    const partitions = new Map<string, Map<number, PartitionBatch>>();
    for (const message of batch) {
      let byPartition = partitions.get(message.topic);
      if (byPartition === undefined) partitions.set(message.topic, (byPartition = new Map()));
      let part = byPartition.get(message.partition);
      if (part === undefined) {
        const source = `kafka:${message.topic}:${message.partition}`;
        // A source not loaded yet has none of our writes in flight, so loading it here is safe.
        part = { source, sourceTsv: Buffer.from(tsvString(source), 'utf8'), totals: await this.#totals(source, nowMs), snapshot: 0, last: message, live: [] };
        byPartition.set(message.partition, part);
      }
      part.last = message;
      const { source, totals } = part;
      const offset = Number(message.offset);
      try {
        // A null record value (a tombstone) arrives as undefined: malformed like any other.
        readEvent(message.value ?? Buffer.alloc(0), view);
      } catch (error) {
        if (!(error instanceof EventDecodeError)) throw error;
        deadLetters.push({ key: message.key, value: message.value ?? Buffer.alloc(0), reason: `malformed: ${error.reason}: ${error.message}`, source, offset });
        this.stats.deadLetter++;
        continue;
      }
      const result = totals.countView(view, offset, nowMs);
      if (result === 'duplicate') this.stats.duplicate++;
      else if (result === 'too_late') {
        this.stats.tooLate++;
        this.stats.deadLetter++;
        deadLetters.push({ key: message.key, value: message.value ?? Buffer.alloc(0), reason: 'too_late', source, offset });
      } else {
        if (result === 'counted') this.stats.counted++;
        else this.stats.redelivered++;
        // Redelivered too: Redis keeps its own per-partition mark and skips what it already has.
        part.live.push({ offset, event: { startMs: view.startMs, appId: view.appId, service: view.service } });
        // Redelivered events are written again too: access_events collapses them.
        rawBody.add(view, part.sourceTsv, offset);
      }
    }
    const parts = [...partitions.values()].flatMap((byPartition) => [...byPartition.values()]);
    const hourly: AggregateRow[] = [];
    const daily: AggregateRow[] = [];
    // Snapshotted before any await: a key the previous batch's markWritten() clears is already in these rows.
    for (const part of parts) {
      const rows = part.totals.dirtyRows();
      part.snapshot = rows.snapshot;
      hourly.push(...rows.hourly);
      daily.push(...rows.daily);
    }
    const countedMs = performance.now();
    await this.#writing;
    if (this.#writeFailed) throw this.#writeFailed;
    const write = this.#write({ records: batch.length, parts, deadLetters, rawBody, hourly, daily, nowMs, startedMs, countMs: countedMs - startedMs });
    this.#writing = write.catch((error: Error) => {
      // Nothing after a failed batch may be written or committed: its events would be skipped.
      this.#writeFailed = error;
      if (!(error instanceof StoppedError)) this.#fatal(error);
    });
  }

  async #write(b: CountedBatch): Promise<void> {
    const writeStartMs = performance.now();
    await this.#retry('dead-letter', () => this.#deadLetters.send(b.deadLetters));
    // Raw events before the aggregate rows that count them (migrations/README.md, Replay); the two aggregate tables are independent.
    if (b.rawBody.rows > 0) {
      const body = b.rawBody.body();
      await this.#retry('access_events', () => this.#options.clickhouse.exec(body));
      this.#options.metrics?.inserted('access_events');
    }
    await Promise.all([
      this.#insert('traffic_hourly', b.hourly as unknown as Record<string, unknown>[]),
      this.#insert('traffic_daily', b.daily as unknown as Record<string, unknown>[]),
    ]);
    for (const { totals, snapshot } of b.parts) {
      totals.markWritten(snapshot);
      totals.evict(b.nowMs);
    }
    const writtenMs = performance.now();
    const liveCounters = this.#options.liveCounters;
    // Each partition has its own mark in Redis and its own committed offset: they go in parallel.
    if (liveCounters) {
      await Promise.all(b.parts.map(async ({ last, live }) => {
        if (!(await liveCounters.apply(last.topic, last.partition, live))) this.stats.redisErrors++;
      }));
    }
    const liveMs = performance.now();
    await Promise.all(b.parts.map(({ last }) =>
      // A failed commit (e.g. lost the partition in a rebalance) only means redelivery, which is harmless.
      Promise.resolve(last.commit()).catch((error: Error) =>
        this.#options.logger.warn({ err: error, partition: last.partition }, 'offset commit failed; the batch will be redelivered and skipped'),
      )));
    this.stats.batches++;
    const doneMs = performance.now();
    this.#options.metrics?.batch((doneMs - b.startedMs) / 1000);
    this.#options.logger.debug({
      records: b.records, ms: Math.round(doneMs - b.startedMs),
      // Where a batch's time goes: counting, waiting for the previous batch, ClickHouse, Redis, commit.
      phasesMs: {
        count: Math.round(b.countMs), queued: Math.round(writeStartMs - b.startedMs - b.countMs), clickhouse: Math.round(writtenMs - writeStartMs),
        redis: Math.round(liveMs - writtenMs), commit: Math.round(doneMs - liveMs),
      },
      stats: this.stats,
    }, 'batch committed');
  }

  async #totals(source: string, nowMs: number): Promise<SourceTotals> {
    let totals = this.#sources.get(source);
    if (totals) return totals;
    totals = new SourceTotals(source, { latenessMs: this.#options.latenessMs, dedupOffsets: this.#options.dedupOffsets });
    const loading = totals;
    await this.#retry('load totals', () => loading.load(this.#options.clickhouse, nowMs));
    this.#sources.set(source, totals);
    this.#options.logger.info({ source }, 'loaded running totals');
    return totals;
  }

  async #insert(table: string, rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#retry(table, () => this.#options.clickhouse.insert(table, rows));
    this.#options.metrics?.inserted(table);
  }

  #retry<T>(what: string, write: () => Promise<T>): Promise<T> {
    return retryUntilDone(write, {
      initialDelayMs: this.#options.retryInitialDelayMs,
      maxDelayMs: this.#options.retryMaxDelayMs,
      signal: this.#abort.signal,
      onFailure: (error, attempt, delayMs) => {
        this.stats.insertFailures++;
        if (what === 'access_events' || what.startsWith('traffic_')) this.#options.metrics?.insertFailed(what);
        this.#options.logger.warn({ err: error, attempt, delayMs }, `${what} failed; retrying, consumption paused`);
      },
    });
  }

  #fatal(error: Error): void {
    this.#options.logger.error({ err: error }, 'collector failed');
    this.#failed?.(error);
  }
}
