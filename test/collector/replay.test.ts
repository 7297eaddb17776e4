import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { ClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { migrate } from '../../collector/clickhouse/migrate.ts';
import {
  aggregateReport,
  appTraffic,
  rawReport,
  skipWithoutClickHouse as skip,
  withScratchDatabase,
} from '../../collector/clickhouse/test-clickhouse.ts';
import type { TrafficReportRow } from '../../collector/reports/traffic-report.ts';
import { rawRow } from '../../collector/cluster/collector.ts';
import { parseFromArg, replay } from '../../collector/cluster/replay.ts';
import { SourceTotals } from '../../collector/cluster/source-totals.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { APPS, makeEvents, withInterimEvents } from './events.ts';

const OPTIONS = { latenessMs: 48 * 3600_000, dedupOffsets: 1000 };
const SOURCES = ['kafka:events:0', 'kafka:events:1'];

/** One collector flush: counts events at offsets from.., writes raw events then the dirty cumulative rows. */
async function flush(db: ClickHouseClient, totals: SourceTotals, events: AccessEvent[], from: number): Promise<void> {
  const raw = [];
  for (const [i, e] of events.entries()) {
    const result = totals.count(e, from + i, Date.now());
    if (result === 'counted' || result === 'redelivered') raw.push(rawRow(e, totals.source, from + i));
  }
  const rows = totals.dirtyRows();
  await db.insert('access_events', raw);
  await db.insert('traffic_hourly', rows.hourly as unknown as Record<string, unknown>[]);
  await db.insert('traffic_daily', rows.daily as unknown as Record<string, unknown>[]);
  totals.markWritten();
}

async function reports(
  db: ClickHouseClient,
  fromS: number,
): Promise<{ aggregate: TrafficReportRow[][]; raw: TrafficReportRow[][] }> {
  const aggregate: TrafficReportRow[][] = [];
  const raw: TrafficReportRow[][] = [];
  for (const appId of APPS) {
    for (const granularity of ['hour', 'day'] as const) {
      // Unfiltered, and filtered by protocol and by gRPC status (test/collector/events.ts mixes them).
      for (const filter of [{}, { protocol: 'h2' }, { protocol: 'grpc' }, { grpcStatus: 14 }] as const) {
        const query = { ...appTraffic(appId, granularity, fromS, fromS + 10 * 86_400), ...filter };
        aggregate.push(await aggregateReport(db, query));
        raw.push(await rawReport(db, query));
      }
    }
  }
  return { aggregate, raw };
}

/** Writes 600 events over two sources in flushes of 100, as the collector does; returns the live totals. */
async function collect(db: ClickHouseClient, events: AccessEvent[]): Promise<SourceTotals[]> {
  const totals = SOURCES.map((s) => new SourceTotals(s, OPTIONS));
  for (let i = 0; i < events.length; i += 100) {
    const t = totals[(i / 100) % 2];
    const offset = Math.floor(i / 200) * 100;
    await flush(db, t, events.slice(i, i + 100), offset);
  }
  return totals;
}

async function waitForMutations(db: ClickHouseClient, database: string): Promise<void> {
  for (;;) {
    const [{ n }] = await db.query<{ n: number }>(
      `SELECT count() AS n FROM system.mutations WHERE database = '${database}' AND is_done = 0`,
    );
    if (Number(n) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('replay rebuilds deleted and corrupted aggregate rows so ' +
  'the reports equal the raw events and the original numbers', {
  skip,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    // With interim events of open connections: the replay must count their bytes and no request, as the collector.
    const events = withInterimEvents(makeEvents(600));
    await collect(db, events);
    // A retried raw insert: the duplicate must not count twice in the replay either.
    await db.insert('access_events', [rawRow(events[0], SOURCES[0], 0)]);
    const fromS = Math.floor(Math.min(...events.map((e) => e.startMs)) / 1000 / 86_400) * 86_400;
    const original = await reports(db, fromS);
    assert.deepEqual(original.aggregate, original.raw);
    for (const k of [1, 2, 3])
      assert.ok(original.raw.filter((_, i) => i % 4 === k).flat().length > 0, `filtered report ${k} is not empty`);

    // Corrupt: drop one hour and one day of rows, and overwrite others with
    // wrong totals at their own offsets (a tie argMax cannot resolve) and at a bogus higher offset.
    const hours = await db.query<{ b: number }>('SELECT DISTINCT toUInt32(bucket) AS b FROM traffic_hourly ORDER BY b');
    assert.ok(hours.length >= 2, JSON.stringify(hours));
    await db.exec(`ALTER TABLE traffic_hourly DELETE WHERE bucket = toDateTime(${hours[0].b})`);
    await db.exec(`ALTER TABLE traffic_daily DELETE WHERE app_id = 'app-b'`);
    await waitForMutations(db, database);
    await db.exec(`INSERT INTO traffic_hourly SELECT bucket, app_id, service, source, source_offset, requests * 3,
        status_2xx, status_3xx, status_4xx, status_5xx, billable, rejections, bytes_in, bytes_out, latency_buckets,
        protocols, grpc_statuses, protocol, grpc_slot, messages_in, messages_out
        FROM traffic_hourly WHERE bucket = toDateTime(${hours[1].b})`);
    await db.exec(`INSERT INTO traffic_daily SELECT bucket, app_id, service, source, source_offset + 1000000,
        requests + 7, status_2xx, status_3xx, status_4xx, status_5xx, billable, rejections, bytes_in + 1, bytes_out,
        latency_buckets, protocols, grpc_statuses, protocol, grpc_slot, messages_in, messages_out
        FROM traffic_daily WHERE app_id = 'app-a'`);
    const corrupted = await reports(db, fromS);
    assert.notDeepEqual(corrupted.aggregate, original.aggregate);

    const result = await replay(client, { fromMs: fromS * 1000 + 5000, database, batchSize: 97 });
    assert.equal(result.events, 600);
    assert.equal(result.sources, 2);
    const replayed = await reports(db, fromS);
    assert.deepEqual(replayed.aggregate, replayed.raw);
    assert.deepEqual(replayed.aggregate, original.aggregate);

    // A restarted live collector loads the replayed rows as its marks and counts the next batch on top.
    const more = makeEvents(100);
    const restarted = new SourceTotals(SOURCES[1], OPTIONS);
    await restarted.load(db, Date.now());
    await flush(db, restarted, more, 300);
    // Redelivery of an already replayed batch adds nothing.
    await flush(db, restarted, events.slice(500, 600), 200);
    const after = await reports(db, fromS);
    assert.deepEqual(after.aggregate, after.raw);
    // Every fourth report is unfiltered (see reports()): each event is in two of those, its hour and its day.
    const requests = (rows: TrafficReportRow[][]) =>
      rows
        .filter((_, i) => i % 4 === 0)
        .flat()
        .reduce((n, r) => n + r.requests, 0);
    assert.equal(requests(after.aggregate), requests(original.aggregate) + 2 * 100);
  });
});

test('replay leaves the buckets of days before TIME untouched', { skip }, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    const dayS = Math.floor(Date.now() / 1000 / 86_400) * 86_400;
    // Two events on each of two days, one source, one traffic class (one row per day).
    const events = makeEvents(4).map((e, i) => ({
      ...e,
      protocol: 'http/1.1' as const,
      grpcStatus: -1,
      appId: 'app-a',
      startMs: (dayS - 86_400 * (i < 2 ? 1 : 0)) * 1000 + 3600_000 + i,
    }));
    await collect(db, events);
    await db.exec(`INSERT INTO traffic_daily SELECT bucket, app_id, service, source, source_offset, requests + 40,
        status_2xx, status_3xx, status_4xx, status_5xx, billable, rejections, bytes_in, bytes_out, latency_buckets,
        protocols, grpc_statuses, protocol, grpc_slot, messages_in, messages_out
        FROM traffic_daily`);
    await db.exec('OPTIMIZE TABLE traffic_daily FINAL');
    await replay(client, { fromMs: dayS * 1000 + 7 * 3600_000, database });
    const rows = await aggregateReport(db, appTraffic('app-a', 'day', dayS - 86_400, dayS + 86_400));
    const day = (s: number) => new Date(s * 1000).toISOString();
    assert.deepEqual(
      rows.map((r) => [r.bucket, r.requests]),
      [
        [day(dayS - 86_400), 42],
        [day(dayS), 2],
      ],
    );
  });
});

test('parseFromArg takes an ISO 8601 date or time as UTC and refuses anything else', () => {
  assert.equal(parseFromArg(['--from', '2026-11-20']), Date.UTC(2026, 10, 20));
  assert.equal(parseFromArg(['--from', '2026-11-20T13:30:00']), Date.UTC(2026, 10, 20, 13, 30));
  assert.equal(parseFromArg(['--from=2026-11-20T13:30:00+01:00']), Date.UTC(2026, 10, 20, 12, 30));
  assert.match(String(parseFromArg([])), /--from is required/);
  assert.match(String(parseFromArg(['--from', 'yesterday'])), /not an ISO 8601 time/);
  assert.match(String(parseFromArg(['--from', '2026-13-45'])), /not an ISO 8601 time/);
});

test('tollgate-collector replay exits 2 with a clear message for a bad TIME, without needing Kafka', () => {
  const node = new URL('../../node_modules/.bin/node', import.meta.url).pathname;
  const main = new URL('../../collector/cluster/main.ts', import.meta.url).pathname;
  const run = spawnSync(node, [main, 'replay', '--from', 'last tuesday'], {
    encoding: 'utf8',
    env: { ...process.env, TOLLGATE_KAFKA_BROKERS: '' },
  });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /^tollgate-collector replay: --from "last tuesday" is not an ISO 8601 time; usage: /);
});
