import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { registerReportRoutes } from '../reports/routes.ts';
import { EmbeddedCollector, type CollectorLogger } from './collector.ts';
import { registerCollectorMetrics } from './metrics.ts';
import { EmbeddedReportSource } from './report-source.ts';
import { EmbeddedStore } from './store.ts';

export { EmbeddedCollector } from './collector.ts';
export { EmbeddedReportSource } from './report-source.ts';
export { EmbeddedStore } from './store.ts';

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
  store: EmbeddedStore;
  collector: EmbeddedCollector;
  reportSource: EmbeddedReportSource;
  /** Mounts /reports/traffic, /billing/qpd and /stats/live on the admin server. */
  registerRoutes(app: FastifyInstance): void;
  /** Stops the collector after its batch in flight, then closes the store. */
  close(): Promise<void>;
}

/** Single-node mode: the in-process collector over the gateway's segment logs, and the reports over its store. */
export async function startEmbeddedAnalytics(options: EmbeddedAnalyticsOptions): Promise<EmbeddedAnalytics> {
  const dbPath = options.dbPath ?? join(options.eventsDir, 'aggregates.sqlite');
  mkdirSync(dirname(dbPath), { recursive: true });
  const store = EmbeddedStore.open(dbPath);
  const collector = new EmbeddedCollector({
    eventsDir: options.eventsDir, store, logger: options.logger,
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
  });
  if (options.register) registerCollectorMetrics(options.register, collector);
  await collector.start();
  const reportSource = new EmbeddedReportSource(store, collector);
  return {
    store, collector, reportSource,
    registerRoutes: (app) => registerReportRoutes(app, reportSource, { latenessMs: options.latenessMs }),
    async close() {
      await collector.stop();
      store.close();
    },
  };
}
