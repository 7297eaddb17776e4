/**
 * The write step of one counted batch, in the order exactness needs:
 * dead letters, then raw events, then the hour/day rows that count them
 * (migrations/README.md, Replay), then the Redis live counters, then the Kafka
 * offset commit. Every ClickHouse write is retried until it succeeds (or the
 * collector stops), so nothing is committed that ClickHouse has not got. The
 * live counters never hold a batch up beyond one bounded Redis command: what
 * cannot reach Redis waits in LiveCounters' backlog and the commit goes on.
 */
import type { Logger } from 'pino';
import type { ClickHouseClient } from '../clickhouse/http-client.ts';
import type { CountedBatch } from './count-batch.ts';
import type { DeadLetterSink } from './dead-letter.ts';
import type { LiveCounters } from './live-counters.ts';
import type { CollectorMetrics } from './metrics.ts';
import { outcomeWithin, retryUntilDone } from './retry.ts';
import type { Tracer } from '@opentelemetry/api';
import { traceBatch } from './batch-trace.ts';

/** A commit Kafka has not answered in this long counts as failed: the batch is redelivered and skipped. */
const COMMIT_TIMEOUT_MS = 5000;

/** The write outcomes BatchWriter adds to (CollectorStats' write fields). */
export interface WriteStats {
  batches: number;
  insertFailures: number;
  redisErrors: number;
}

export interface BatchWriterOptions {
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetterSink;
  liveCounters: LiveCounters | undefined;
  metrics: CollectorMetrics | undefined;
  logger: Logger;
  stats: WriteStats;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  /** Aborted when the collector stops: retries end with StoppedError. */
  signal: AbortSignal;
  /** Each batch a trace of its own (batch-trace.ts), when tracing is on. */
  tracer?: Tracer;
  topic?: string;
}

export class BatchWriter {
  readonly #o: BatchWriterOptions;

  constructor(options: BatchWriterOptions) {
    this.#o = options;
  }

  /** Writes and commits one batch; rejects only with StoppedError (or a bug), never on an outage. */
  async write(b: CountedBatch): Promise<void> {
    const { logger, metrics, stats } = this.#o;
    const writeStartMs = performance.now();
    await this.retry('dead-letter', () => this.#o.deadLetters.send(b.deadLetters));
    // Raw events before the aggregate rows that count them (migrations/README.md, Replay); the two aggregate tables are
    // independent.
    if (b.rawBody.rows > 0) {
      const body = b.rawBody.body();
      await this.retry('access_events', () => this.#o.clickhouse.exec(body));
      metrics?.inserted('access_events');
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
    const liveCounters = this.#o.liveCounters;
    // Each partition has its own mark in Redis and its own committed offset: they go in parallel.
    // Live counters go before the commit so that a crash in between redelivers (and the mark skips) rather than loses
    // them.
    if (liveCounters) {
      await Promise.all(
        b.parts.map(async ({ last, live }) => {
          if (!(await liveCounters.apply(last.topic, last.partition, live))) stats.redisErrors++;
        }),
      );
    }
    const liveMs = performance.now();
    // A failed commit (lost the partition in a rebalance, Kafka away) only means redelivery, which is harmless;
    // bounded, as the client may wait for a broker that is away without end, and the next batch waits for this one.
    await Promise.all(
      b.parts.map(async ({ last }) => {
        const error = await outcomeWithin(Promise.resolve(last.commit()), COMMIT_TIMEOUT_MS, 'offset commit');
        if (error)
          logger.warn(
            { err: error, partition: last.partition },
            'offset commit failed; the batch will be redelivered and skipped',
          );
      }),
    );
    stats.batches++;
    const doneMs = performance.now();
    metrics?.batch((doneMs - b.startedMs) / 1000);
    if (this.#o.tracer !== undefined) {
      const shape = { records: b.records, rawRows: b.rawBody.rows, partitions: b.parts.length };
      const times = { startedMs: b.startedMs, countMs: b.countMs, writeStartMs, writtenMs, liveMs, doneMs };
      traceBatch(this.#o.tracer, { ...shape, topic: this.#o.topic ?? '', redis: liveCounters !== undefined }, times);
    }
    logger.debug(
      {
        records: b.records,
        ms: Math.round(doneMs - b.startedMs),
        // Where a batch's time goes: counting, waiting for the previous batch, ClickHouse, Redis, commit.
        phasesMs: {
          count: Math.round(b.countMs),
          queued: Math.round(writeStartMs - b.startedMs - b.countMs),
          clickhouse: Math.round(writtenMs - writeStartMs),
          redis: Math.round(liveMs - writtenMs),
          commit: Math.round(doneMs - liveMs),
        },
        stats,
      },
      'batch committed',
    );
  }

  /** Retries an idempotent ClickHouse (or Kafka dead-letter) call until it succeeds or the collector stops. */
  retry<T>(what: string, write: () => Promise<T>): Promise<T> {
    return retryUntilDone(write, {
      initialDelayMs: this.#o.retryInitialDelayMs,
      maxDelayMs: this.#o.retryMaxDelayMs,
      signal: this.#o.signal,
      onFailure: (error, attempt, delayMs) => {
        this.#o.stats.insertFailures++;
        if (what === 'access_events' || what.startsWith('traffic_')) this.#o.metrics?.insertFailed(what);
        this.#o.logger.warn({ err: error, attempt, delayMs }, `${what} failed; retrying, consumption paused`);
      },
    });
  }

  async #insert(table: string, rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.retry(table, () => this.#o.clickhouse.insert(table, rows));
    this.#o.metrics?.inserted(table);
  }
}
