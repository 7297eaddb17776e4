import { Gauge, Histogram, type Registry } from 'prom-client';
import type { EmbeddedCollector } from './collector.ts';
import { totalsCounter } from '../../shared/totals-counter.ts';

/**
 * The collector's Prometheus metrics (names shared with the cluster
 * collector), read from its plain counters at scrape time. In single-node mode
 * `consumer_lag` is in bytes of the segment log, labelled topic="embedded" and
 * partition=<log dir relative to events.dir>; no result="duplicate" exists
 * here, since each batch and its position commit in one transaction.
 */
export function registerCollectorMetrics(
  register: Registry,
  collector: Pick<EmbeddedCollector, 'stats' | 'onBatch'>,
): void {
  const registers = [register];
  totalsCounter(
    {
      name: 'tollgate_collector_events_total',
      help: 'Events consumed by the collector, by result (counted, dead_letter).',
      labelNames: ['result'] as const,
      registers,
    },
    () => [
      [{ result: 'counted' }, collector.stats.counted],
      [{ result: 'dead_letter' }, collector.stats.deadLetters],
    ],
  );
  new Gauge({
    name: 'tollgate_collector_consumer_lag',
    help: 'How far the collector is behind its source (embedded log: bytes; Kafka: messages).',
    labelNames: ['topic', 'partition'] as const,
    registers,
    collect() {
      this.reset();
      for (const [partition, lag] of Object.entries(collector.stats.lagBytes))
        this.set({ topic: 'embedded', partition }, lag);
    },
  });
  const batchSeconds = new Histogram({
    name: 'tollgate_collector_batch_seconds',
    help: 'Time to read, aggregate and store one batch.',
    registers,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  collector.onBatch((b) => batchSeconds.observe(b.seconds));
}
