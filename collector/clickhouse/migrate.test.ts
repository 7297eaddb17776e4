import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { supportsTableTtl } from './http-client.ts';
import type { ClickHouseClient } from './http-client.ts';
import { DEFAULT_MIGRATIONS_DIR, migrate } from './migrate.ts';
import { loadMigrations, renderMigration } from './migration-files.ts';
import {
  aggregateReport,
  appTraffic,
  rawReport,
  skipWithoutClickHouse,
  withScratchDatabase,
} from './test-clickhouse.ts';

const skip = skipWithoutClickHouse;
const HOUR_S = 1_700_002_800; // 2023-11-14 23:00:00 UTC, an hour start
const SLOTS = 16; // 15 latency bounds + +Inf

async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-migrations-'));
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

async function appliedVersions(client: ClickHouseClient, database: string): Promise<number[]> {
  const rows = await client
    .withDatabase(database)
    .query<{ version: number }>('SELECT DISTINCT version FROM schema_migrations ORDER BY version');
  return rows.map((row) => row.version);
}

/** A latency histogram with `count` requests in 1-based slot `slot`, merged over pairs. */
function latency(...pairs: [slot: number, count: number][]): number[] {
  const buckets = new Array<number>(SLOTS).fill(0);
  for (const [slot, count] of pairs) buckets[slot - 1] += count;
  return buckets;
}

function hourlyRow(source: string, sourceOffset: number, requests: number, buckets: number[]) {
  return {
    bucket: HOUR_S,
    app_id: 'app-a',
    service: 'orders',
    source,
    source_offset: sourceOffset,
    requests,
    status_2xx: requests,
    status_3xx: 0,
    status_4xx: 0,
    status_5xx: 0,
    billable: requests,
    rejections: [],
    bytes_in: requests * 10,
    bytes_out: requests * 100,
    latency_buckets: buckets,
  };
}

/** A raw row as the collector writes it (every column: 18.16 gives an omitted column its type's zero, not its
 * DEFAULT); `grpcStatus` makes it a gRPC call. */
function rawEvent(eventId: string, totalUs: number, status: number, grpcStatus = -1) {
  return {
    event_id: eventId,
    ts: HOUR_S + 60,
    ts_ms: 5,
    node: 'gw-1',
    app_id: 'app-a',
    service: 'orders',
    route: 'list',
    method: 'GET',
    status,
    upstream_status: status,
    total_us: totalUs,
    upstream_us: totalUs - 100,
    gateway_us: 100,
    bytes_in: 10,
    bytes_out: 100,
    client_ip: '127.0.0.1',
    target: 'http://127.0.0.1:1',
    error_class: 'none',
    trace_id: '',
    protocol: grpcStatus >= 0 ? 'grpc' : 'http/1.1',
    tls_version: '',
    grpc_status: grpcStatus,
    grpc_method: grpcStatus >= 0 ? '/shop.Orders/List' : '',
    messages_in: grpcStatus >= 0 ? 1 : 0,
    messages_out: 0,
    source: 'kafka:access-events:0',
    source_offset: Number(eventId.slice(1)),
  };
}

const REPORT = appTraffic('app-a', 'hour', HOUR_S - 3600, HOUR_S + 7200);

test('applies every migration in order and records each with its checksum', { skip }, async () => {
  await withScratchDatabase(async (client, database) => {
    const lines: string[] = [];
    const result = await migrate({ client, database, log: (line) => lines.push(line) });
    const files = await loadMigrations(DEFAULT_MIGRATIONS_DIR);
    assert.deepEqual(
      result.applied.map((m) => m.name),
      files.map((f) => f.name),
    );
    assert.equal(lines.length, files.length);
    const recorded = await client
      .withDatabase(database)
      .query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      recorded,
      files.map((f) => ({ name: f.name, checksum: f.checksum })),
    );
    const tables = await client.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`,
    );
    assert.deepEqual(
      tables.map((t) => t.name),
      ['access_events', 'schema_migrations', 'traffic_daily', 'traffic_hourly'],
    );
  });
});

test('a second run applies nothing and records nothing twice', { skip }, async () => {
  await withScratchDatabase(async (client, database) => {
    const first = await migrate({ client, database });
    const second = await migrate({ client, database });
    assert.deepEqual(second.applied, []);
    assert.equal(second.alreadyApplied, first.applied.length);
    const [{ rows }] = await client
      .withDatabase(database)
      .query<{ rows: number }>('SELECT count() AS rows FROM schema_migrations');
    assert.equal(rows, first.applied.length);
  });
});

test('refuses to run when an applied migration was changed, naming the file, and applies nothing new', {
  skip,
}, async () => {
  const dir = await copyOfMigrations();
  try {
    await withScratchDatabase(async (client, database) => {
      await migrate({ client, database, dir });
      const changed = join(dir, '0002_traffic_hourly.sql');
      await writeFile(changed, (await readFile(changed, 'utf8')) + '\n-- an innocent-looking edit\n');
      await writeFile(
        join(dir, '0999_new_table.sql'),
        'CREATE TABLE IF NOT EXISTS later (a UInt8) ENGINE = MergeTree() ORDER BY a;\n',
      );
      const before = await appliedVersions(client, database);
      await assert.rejects(
        migrate({ client, database, dir }),
        /0002_traffic_hourly\.sql was changed after it was applied/,
      );
      assert.deepEqual(await appliedVersions(client, database), before);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('records a migration only after all its statements succeed, and re-runs a half-applied one', {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-migrations-'));
  try {
    await withScratchDatabase(async (client, database) => {
      const good = 'CREATE TABLE IF NOT EXISTS first_half (a UInt8) ENGINE = MergeTree() ORDER BY a;\n';
      await writeFile(
        join(dir, '0001_two_parts.sql'),
        good + 'CREATE TABLE IF NOT EXISTS second_half (a NoSuchType) ENGINE = MergeTree() ORDER BY a;\n',
      );
      await assert.rejects(migrate({ client, database, dir }), /0001_two_parts\.sql: statement 2 of 2 failed/);
      assert.deepEqual(await appliedVersions(client, database), []);
      await writeFile(
        join(dir, '0001_two_parts.sql'),
        good + 'CREATE TABLE IF NOT EXISTS second_half (a UInt8) ENGINE = MergeTree() ORDER BY a;\n',
      );
      const result = await migrate({ client, database, dir });
      assert.deepEqual(
        result.applied.map((m) => m.name),
        ['0001_two_parts.sql'],
      );
      assert.deepEqual(await appliedVersions(client, database), [1]);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('counts an aggregate batch inserted twice once, and a newer cumulative row of a source replaces its older one', {
  skip,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    // Merges stopped, so the duplicates stay in separate unmerged parts.
    await db.exec('SYSTEM STOP MERGES traffic_hourly');
    const older = hourlyRow('kafka:access-events:0', 41, 60, latency([5, 30], [6, 30]));
    const newer = hourlyRow('kafka:access-events:0', 97, 90, latency([5, 40], [6, 30], [8, 19], [16, 1]));
    const otherSource = hourlyRow('kafka:access-events:1', 12, 10, latency([6, 10]));
    await db.insert('traffic_hourly', [older, otherSource]);
    await db.insert('traffic_hourly', [newer]);
    await db.insert('traffic_hourly', [newer]); // the retried insert
    const [{ stored }] = await db.query<{ stored: number }>('SELECT count() AS stored FROM traffic_hourly');
    assert.equal(stored, 4, 'duplicates must still be unmerged for this test to mean anything');

    const rows = await aggregateReport(db, REPORT);
    // 90 (newest row of source 0) + 10 (source 1); histogram 40, 40, 19, 1.
    assert.deepEqual(rows, [
      {
        bucket: new Date(HOUR_S * 1000).toISOString(),
        requests: 100,
        status_2xx: 100,
        status_3xx: 0,
        status_4xx: 0,
        status_5xx: 0,
        bytes_in: 1000,
        bytes_out: 10_000,
        messages_in: 0,
        messages_out: 0,
        latency_p50_ms: 13.75,
        latency_p95_ms: 89.474,
        latency_p99_ms: 100,
        protocols: { 'http/1.1': 100, h2: 0, grpc: 0, websocket: 0, tcp: 0 },
        grpc_statuses: {},
      },
    ]);
  });
});

test('counts a repeated event_id once in the raw report, matching the aggregate report for the same events', {
  skip,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    await db.exec('SYSTEM STOP MERGES access_events');
    const events = [rawEvent('e1', 7_000, 200), rawEvent('e2', 12_000, 200), rawEvent('e3', 80_000, 503, 14)];
    await db.insert('access_events', events);
    await db.insert('access_events', [events[2]]); // redelivered
    const [{ stored }] = await db.query<{ stored: number }>('SELECT count() AS stored FROM access_events');
    assert.equal(stored, 4, 'the duplicate must still be unmerged for this test to mean anything');

    const raw = await rawReport(db, REPORT);
    assert.equal(raw.length, 1);
    assert.equal(raw[0].requests, 3);
    assert.equal(raw[0].status_5xx, 1);
    assert.equal(raw[0].bytes_out, 300);

    const sameAsAggregate = {
      ...hourlyRow('kafka:access-events:0', 3, 3, latency([5, 1], [6, 1], [8, 1])),
      messages_in: 1,
    };
    const unavailable = Array.from({ length: 17 }, (_, code) => (code === 14 ? 1 : 0));
    await db.insert('traffic_hourly', [
      { ...sameAsAggregate, status_2xx: 2, status_5xx: 1, protocols: [0, 0, 1], grpc_statuses: unavailable },
    ]);
    assert.deepEqual(raw, await aggregateReport(db, REPORT));
  });
});

test('gives the raw table a TTL of the configured retention, or day partitions where the server has no TTL', {
  skip,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    const result = await migrate({ client, database, retentionDays: 7 });
    const [table] = await client.query<{ engine_full: string }>(
      `SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = 'access_events'`,
    );
    assert.match(table.engine_full, /PARTITION BY toYYYYMMDD\(ts\)/);
    if (supportsTableTtl(await client.serverVersion())) {
      assert.equal(result.ttl, true);
      assert.match(table.engine_full, /TTL ts \+ toIntervalDay\(7\)/);
    } else {
      // 18.16 rejects TTL; the clause is still what current servers get from the same file.
      assert.equal(result.ttl, false);
      assert.doesNotMatch(table.engine_full, /TTL/);
      const [file] = (await loadMigrations(DEFAULT_MIGRATIONS_DIR)).filter((f) =>
        f.name.endsWith('_access_events.sql'),
      );
      assert.match(renderMigration(file, { retentionDays: 7, supportsTtl: true }), /^TTL ts \+ toIntervalDay\(7\)$/m);
    }
  });
});

test('0007 splits rows by traffic class: rows from before it are kept beside new ones and left out of filters', {
  skip,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    const dir = await copyOfMigrations();
    const files = await loadMigrations(dir);
    const later = files.filter((f) => f.version >= 7);
    const held = await mkdtemp(join(tmpdir(), 'tollgate-later-migrations-'));
    try {
      for (const f of later) await cp(join(dir, f.name), join(held, f.name));
      for (const f of later) await rm(join(dir, f.name));
      await migrate({ client, database, dir });
      const db = client.withDatabase(database);
      await db.insert('traffic_hourly', [hourlyRow('kafka:access-events:0', 41, 60, latency([5, 60]))]);
      for (const f of later) await cp(join(held, f.name), join(dir, f.name));
      await migrate({ client, database, dir });
      // The same source and bucket after the upgrade: a newer offset, one gRPC call that ended UNAVAILABLE.
      const grpc = { ...hourlyRow('kafka:access-events:0', 97, 1, latency([9, 1])), protocol: 'grpc', grpc_slot: 15 };
      await db.insert('traffic_hourly', [{ ...grpc, protocols: [0, 0, 1], grpc_statuses: [] }]);
      await db.exec('OPTIMIZE TABLE traffic_hourly FINAL');
      const [{ stored }] = await db.query<{ stored: number }>('SELECT count() AS stored FROM traffic_hourly');
      assert.equal(stored, 2, 'a merge keeps both: they are different keys now');
      const requests = async (filter: object) =>
        (await aggregateReport(db, { ...REPORT, ...filter })).reduce((n, r) => n + r.requests, 0);
      assert.equal(await requests({}), 61, 'unfiltered: the rows from before the split count too');
      assert.equal(await requests({ protocol: 'grpc' }), 1);
      assert.equal(await requests({ grpcStatus: 14 }), 1);
      assert.equal(await requests({ protocol: 'http/1.1' }), 0, 'a row from before the split has no protocol');
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(held, { recursive: true, force: true });
    }
  });
});
