import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { registerReportRoutes } from '../reports/routes.ts';
import type { CollectorLogger } from './collector.ts';
import { registerCollectorMetrics } from './metrics.ts';
import { CollectorThread } from './threaded.ts';
import { totalsCounter } from '../../shared/totals-counter.ts';

export { EmbeddedCollector } from './collector.ts';
export { EmbeddedReportSource } from './report-source.ts';
export { EmbeddedStore } from './store.ts';
export { CollectorThread } from './threaded.ts';

export interface EmbeddedAnalyticsOptions {
  /** The gateway's events.dir. */
  eventsDir: string;
  /** The SQLite file of the aggregates (default `<eventsDir>/aggregates.sqlite`). */
  dbPath?: string;
  /** After a day ends, how long late events still count before billing marks it final (default 48 h). */
  latenessMs?: number;
  pollIntervalMs?: number;
  logger?: CollectorLogger;
  /** Where the collector's metrics go (the admin listener's /metrics registry). */
  register?: Registry;
}

export interface EmbeddedAnalytics {
  /** The collector's thread; also the reports' source. */
  collector: CollectorThread;
  /** Mounts /reports/traffic, /billing/qpd and /stats/live on the admin server. */
  registerRoutes(app: FastifyInstance): void;
  /** Stops the collector after its batch in flight, closes the store and ends the thread. */
  close(): Promise<void>;
}

/**
 * Single-node mode: the collector over the gateway's segment logs, and the
 * reports over its store, on a worker thread: the proxy's event loop only
 * appends events, and no SQLite write or report query runs on it.
 */
export async function startEmbeddedAnalytics(options: EmbeddedAnalyticsOptions): Promise<EmbeddedAnalytics> {
  const dbPath = options.dbPath ?? join(options.eventsDir, 'aggregates.sqlite');
  mkdirSync(dirname(dbPath), { recursive: true });
  const collector = new CollectorThread({
    eventsDir: options.eventsDir,
    dbPath,
    logger: options.logger,
    pollIntervalMs: options.pollIntervalMs,
  });
  await collector.start();
  if (options.register) {
    registerCollectorMetrics(options.register, collector);
    totalsCounter(
      {
        name: 'tollgate_collector_thread_restarts_total',
        help: "Times the single-node collector's thread died and was replaced (it resumes from the stored positions).",
        registers: [options.register],
      },
      () => [[{}, collector.restarts]],
    );
  }
  return {
    collector,
    registerRoutes: (app) => registerReportRoutes(app, collector, { latenessMs: options.latenessMs }),
    close: () => collector.stop(),
  };
}
