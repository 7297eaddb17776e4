/**
 * The collector's Prometheus metrics (Prometheus job `tollgate-collector`),
 * served on their own listener. Names are fixed: alerts/ and dashboards/ use them.
 */
import { createServer } from '../../shared/http.ts';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CollectorStats } from './collector.ts';
import type { LiveCounters } from './live-counters.ts';
import { splitListen } from '../../shared/listen.ts';
import { totalsCounter } from '../../shared/totals-counter.ts';

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9091';
const BATCH_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly #inserts: Counter<'table'>;
  readonly #insertFailures: Counter<'table'>;
  readonly #lag: Gauge<'topic' | 'partition'>;
  readonly #batchSeconds: Histogram;
  #stats: CollectorStats | undefined;
  #live: Pick<LiveCounters, 'up' | 'pending' | 'dropped'> | undefined;
  #kafka: { kafkaUp: boolean; reconnects: number } | undefined;

  constructor() {
    const registers = [this.registry];
    const metrics = this;
    // The event counts live in CollectorStats; read them at scrape time rather than counting twice.
    totalsCounter(
      {
        name: 'tollgate_collector_events_total',
        help:
          'Records consumed, by result: counted (first time into the ' +
          'aggregates), duplicate (a re-sent event_id), dead_letter (malformed or too late)',
        labelNames: ['result'] as const,
        registers,
      },
      () => {
        const stats = metrics.#stats;
        return stats
          ? [
              [{ result: 'counted' }, stats.counted],
              [{ result: 'duplicate' }, stats.duplicate],
              [{ result: 'dead_letter' }, stats.deadLetter],
            ]
          : [];
      },
    );
    this.#lag = new Gauge({
      name: 'tollgate_collector_consumer_lag',
      help: "Records behind per assigned partition: the partition's high watermark minus the group's committed offset",
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.#inserts = new Counter({
      name: 'tollgate_collector_clickhouse_inserts_total',
      help: 'ClickHouse inserts acknowledged, per table',
      labelNames: ['table'],
      registers,
    });
    this.#insertFailures = new Counter({
      name: 'tollgate_collector_clickhouse_insert_failures_total',
      help: 'ClickHouse insert attempts that failed (each is retried), per table',
      labelNames: ['table'],
      registers,
    });
    this.#batchSeconds = new Histogram({
      name: 'tollgate_collector_batch_seconds',
      help: 'Time to process one batch, from flush start to offsets committed',
      buckets: BATCH_BUCKETS_S,
      registers,
    });
    new Gauge({
      name: 'tollgate_collector_redis_up',
      help: '1 when the last live-counter update reached Redis, 0 when Redis is unavailable or not configured',
      registers,
      collect() {
        this.set(metrics.#live?.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tollgate_collector_live_pending_events',
      help:
        'Events whose live-counter increments wait in memory for Redis (applied, ' +
        'exactly once, when it answers; lost if the collector is SIGKILLed meanwhile)',
      registers,
      collect() {
        this.set(metrics.#live?.pending.events ?? 0);
      },
    });
    new Gauge({
      name: 'tollgate_collector_live_pending_cells',
      help:
        'Counter cells (bucket x app x service, and seconds) ' +
        "held for Redis; bounded by the collector's max pending cells",
      registers,
      collect() {
        this.set(metrics.#live?.pending.cells ?? 0);
      },
    });
    new Gauge({
      name: 'tollgate_collector_kafka_up',
      help:
        '1 while the consumer is connected and in its group; 0 ' +
        'while Kafka is away and the collector reconnects with backoff',
      registers,
      collect() {
        this.set(metrics.#kafka?.kafkaUp ? 1 : 0);
      },
    });
    totalsCounter(
      {
        name: 'tollgate_collector_kafka_reconnects_total',
        help:
          'Times Kafka was lost while consuming and the consumer was ' +
          'made anew (uncommitted records are redelivered and counted once)',
        registers,
      },
      () => (metrics.#kafka ? [[{}, metrics.#kafka.reconnects]] : []),
    );
    totalsCounter(
      {
        name: 'tollgate_collector_live_dropped_increments_total',
        help:
          'Requests left out of live counters, by reason: cap (the pending-cells bound ' +
          'was full), conflict (another writer had applied part of a merged backlog range)',
        labelNames: ['reason'] as const,
        registers,
      },
      () => {
        const live = metrics.#live;
        return live
          ? [
              [{ reason: 'cap' }, live.dropped.cap],
              [{ reason: 'conflict' }, live.dropped.conflict],
            ]
          : [];
      },
    );
  }

  /** The collector whose stats the event counter reports, and its live counters (if any). */
  observe(stats: CollectorStats, live: Pick<LiveCounters, 'up' | 'pending' | 'dropped'> | undefined): void {
    this.#stats = stats;
    this.#live = live;
  }

  /** The collector whose Kafka connection tollgate_collector_kafka_up and the reconnect counter report. */
  observeKafka(kafka: { kafkaUp: boolean; reconnects: number }): void {
    this.#kafka = kafka;
  }

  inserted(table: string): void {
    this.#inserts.inc({ table });
  }

  insertFailed(table: string): void {
    this.#insertFailures.inc({ table });
  }

  batch(seconds: number): void {
    this.#batchSeconds.observe(seconds);
  }

  /** Replaces the lag series: partitions no longer assigned to us (lag < 0 from the client) disappear. */
  setLag(lag: Map<string, bigint[]>): void {
    this.#lag.reset();
    for (const [topic, partitions] of lag) {
      partitions.forEach((n, partition) => {
        if (n >= 0n) this.#lag.set({ topic, partition: String(partition) }, Number(n));
      });
    }
  }
}

/**
 * Serves GET /metrics, /healthz (the process answers) and /readyz (200 while
 * `ready()` says so, else 503 with its reason) on `host:port` (port 0 =
 * ephemeral; read server.address()).
 */
export async function startMetricsServer(
  listen: string,
  registry: Registry,
  ready: () => string | undefined = () => undefined,
): Promise<Server> {
  const { host, port } = splitListen(listen);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`metrics listen address must be host:port, got ${JSON.stringify(listen)}`);
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      const notReady = path === '/readyz' ? ready() : undefined;
      res
        .writeHead(notReady ? 503 : 200, { 'content-type': 'application/json' })
        .end(JSON.stringify(notReady ? { status: 'unavailable', reason: notReady } : { status: 'ok' }));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
