/** The cluster collector's options (collector.ts), their defaults, and the counts it keeps. */
import type { ClickHouseClient } from '../clickhouse/http-client.ts';
import type { Logger } from 'pino';
import type { Tracer } from '@opentelemetry/api';
import type { LiveCounters } from './live-counters.ts';
import type { CollectorMetrics } from './metrics.ts';

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
  /** How long the group waits for a silent member (e.g. SIGKILLed) before reassigning its partitions (default 10000).
   * */
  sessionTimeoutMs?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  now?: () => number;
  /** Redis live counters, updated after ClickHouse acked and before the commit (deferred, not waited for, while Redis
   * is away). */
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
  /** Traces each batch (batch-trace.ts); undefined: tracing is off. */
  tracer?: Tracer;
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
  /** Batches whose live counters could not reach Redis at once (kept in LiveCounters' backlog, applied when it answers;
   * ClickHouse unaffected). */
  redisErrors: number;
}

export const COLLECTOR_DEFAULTS = {
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
};

/** The options with every default filled in. */
export type CollectorSettings = Required<
  Omit<ClusterCollectorOptions, 'clientId' | 'liveCounters' | 'metrics' | 'tracer'>
> &
  Pick<ClusterCollectorOptions, 'liveCounters' | 'metrics' | 'tracer'> & { clientId: string };
