// Events, seeded stores and a reports API over either store, for the report source suites.
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  addEvent,
  bucketStartMs,
  emptyCounters,
  GRANULARITIES,
  grpcSlotOf,
  TrafficAggregator,
  type TrafficCounters,
} from '../../collector/aggregate/traffic.ts';
import { sampleEvent } from '../../collector/aggregate/sample-event.fixture.ts';
import type { ClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { skipWithoutClickHouse } from '../../collector/clickhouse/test-clickhouse.ts';
import type { ClickHouseReportSource } from '../../collector/cluster/report-source.ts';
import { toColumns } from '../../collector/cluster/traffic-counters.ts';
import { LiveStats } from '../../collector/embedded/live-stats.ts';
import { EmbeddedReportSource } from '../../collector/embedded/report-source.ts';
import { EmbeddedStore } from '../../collector/embedded/store.ts';
import { registerReportRoutes } from '../../collector/reports/routes.ts';
import { installErrorReplies } from '../../gateway/control/admin/replies.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { encode } from '../../shared/access-event-codec.ts';
import { RecentEvents } from '../../collector/embedded/recent-events.ts';
import type { RecentSelection } from '../../collector/reports/source.ts';
import { emptyView, readEvent } from '../../collector/aggregate/event-view.ts';
import { TraceExamples } from '../../collector/aggregate/trace-examples.ts';
import { RAW_INSERT_TSV, rawRowTsv, tsvString } from '../../collector/cluster/raw-rows.ts';

export const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL;
export const skip =
  skipWithoutClickHouse ||
  (!REDIS_URL && process.env.CI !== 'true'
    ? 'TOLLGATE_TEST_REDIS_URL is unset; run `npm run services:up` and export the variables it prints'
    : false);

export const H = 3_600_000;
export const T = Date.UTC(2025, 2, 10, 13);
/** "Now" for `final` and the live keys: 03-09 is final (ended 03-10 00:00, + 48 h lateness), 03-10 is not. */
export const NOW = Date.UTC(2025, 2, 12, 12);
export const NOW_S = NOW / 1000;

export function events(): AccessEvent[] {
  const out: AccessEvent[] = [];
  // acme/api at 13:00: 99 fast requests (1.8 ms), the first 10 over h2; acme/search at 13:00: one slow gRPC call
  // that failed UNAVAILABLE (recorded 503, 600 ms).
  for (let i = 0; i < 99; i++) out.push(sampleEvent({ startMs: T + i * 1000, protocol: i < 10 ? 'h2' : 'http/1.1' }));
  const unavailable = { protocol: 'grpc', grpcStatus: 14, grpcMethod: '/shop.Search/Find' } as const;
  out.push(
    sampleEvent({
      startMs: T + 5,
      service: 'search',
      status: 503,
      upstreamStatus: 503,
      totalUs: 600_000,
      ...unavailable,
    }),
  );
  // beta/api at 14:00: a 404 and a rate-limited 429; an anonymous request; acme a day earlier.
  out.push(sampleEvent({ startMs: T + H, appId: 'beta', status: 404, upstreamStatus: 404 }));
  out.push(
    sampleEvent({
      startMs: T + H + 1,
      appId: 'beta',
      status: 429,
      upstreamStatus: 0,
      errorClass: 'rate_limited',
      protocol: 'grpc',
      grpcStatus: 8,
    }),
  );
  out.push(sampleEvent({ startMs: T + H + 2, appId: '' }));
  out.push(sampleEvent({ startMs: T - 24 * H, status: 301, upstreamStatus: 301 }));
  // Ids of their own (raw events are one row per id); two requests in three traced, with latencies that differ.
  return out.map((e, i) => ({
    ...e,
    id: `0195f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
    traceId: i % 3 === 1 ? '' : i.toString(16).padStart(32, '0'),
    totalUs: e.totalUs + i,
  }));
}

/** The events as ClickHouse raw rows, what the cluster's example traces are read from. */
export async function seedRawEvents(db: ClickHouseClient): Promise<void> {
  await db.exec(
    RAW_INSERT_TSV +
      events()
        .map((e, i) => rawRowTsv(e, tsvString('kafka:tollgate-events:0'), i))
        .join(''),
  );
}

export interface KeyTotals {
  table: string;
  bucketS: number;
  appId: string;
  service: string;
  protocol: string;
  grpcSlot: number;
  offset: number;
  counters: TrafficCounters;
}

/**
 * Cumulative totals per (table, bucket, app, service, class) of a source's events at offsets 0..upTo, as the
 * collector writes them.
 */
export function cumulativeRows(log: readonly AccessEvent[], upTo: number, source: string): Record<string, unknown>[] {
  const keys = new Map<string, KeyTotals>();
  for (let offset = 0; offset <= upTo; offset++) {
    const e = log[offset];
    for (const granularity of GRANULARITIES) {
      const bucketS = bucketStartMs(granularity, e.startMs) / 1000;
      const table = granularity === 'hour' ? 'traffic_hourly' : 'traffic_daily';
      const grpcSlot = grpcSlotOf(e.grpcStatus);
      const id = JSON.stringify([table, bucketS, e.appId, e.service, e.protocol, grpcSlot]);
      const key = keys.get(id) ?? {
        table,
        bucketS,
        appId: e.appId,
        service: e.service,
        protocol: e.protocol,
        grpcSlot,
        offset,
        counters: emptyCounters(),
      };
      addEvent(key.counters, e);
      key.offset = offset;
      keys.set(id, key);
    }
  }
  return [...keys.values()].map((k) => ({
    table: k.table,
    bucket: k.bucketS,
    app_id: k.appId,
    service: k.service,
    source,
    source_offset: k.offset,
    protocol: k.protocol,
    grpc_slot: k.grpcSlot,
    ...toColumns(k.counters),
  }));
}

export async function insertRows(db: ClickHouseClient, rows: readonly Record<string, unknown>[]): Promise<void> {
  for (const table of ['traffic_hourly', 'traffic_daily']) {
    await db.insert(
      table,
      rows.filter((r) => r.table === table).map(({ table: _, ...row }) => row),
    );
  }
}

/**
 * Two sources (Kafka partitions) share the events. Each writes an older
 * version of its rows (half its log), then the newest version twice, with
 * merges stopped so the duplicates provably stay unmerged.
 */
export async function seedClickHouse(db: ClickHouseClient): Promise<void> {
  await db.exec('SYSTEM STOP MERGES traffic_hourly');
  await db.exec('SYSTEM STOP MERGES traffic_daily');
  const all = events();
  for (const partition of [0, 1]) {
    const log = all.filter((_, i) => i % 2 === partition);
    const source = `kafka:tollgate-events:${partition}`;
    await insertRows(db, cumulativeRows(log, Math.floor(log.length / 2), source));
    const newest = cumulativeRows(log, log.length - 1, source);
    await insertRows(db, newest);
    await insertRows(db, newest);
  }
}

export async function serve(source: EmbeddedReportSource | ClickHouseReportSource): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorReplies(app); // as the admin server does
  registerReportRoutes(app, source, { now: () => NOW });
  await app.ready();
  return app;
}

/** The same events through the single-node store: the cluster source must give identical reports. */
export function embeddedSource(): { source: EmbeddedReportSource; close(): void } {
  const store = EmbeddedStore.open(':memory:');
  const agg = new TrafficAggregator();
  const examples = new TraceExamples();
  const view = emptyView();
  for (const e of events()) {
    agg.add(e);
    readEvent(encode(e), view);
    examples.add(view);
  }
  store.applyBatch({
    source: 'log',
    from: 0,
    next: 1,
    deltas: agg.drain(),
    deadLetters: [],
    examples: examples.drain(),
  });
  const live = new LiveStats(() => NOW);
  const recent = new RecentEvents();
  for (const e of events()) recent.add(encode(e));
  const collector = { live: () => live.snapshot(), recent: (q: RecentSelection) => recent.newest(q) };
  return { source: new EmbeddedReportSource(store, collector), close: () => store.close() };
}

export async function json(app: FastifyInstance, url: string): Promise<any> {
  const res = await app.inject(url);
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return res.json();
}
