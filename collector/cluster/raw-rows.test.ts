import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleEvent } from '../aggregate/sample-event.fixture.ts';
import { migrate } from '../clickhouse/migrate.ts';
import { skipWithoutClickHouse, withScratchDatabase } from '../clickhouse/test-clickhouse.ts';
import { RAW_COLUMNS, RAW_INSERT_TSV, rawRow, rawRowTsv, tsvString } from './raw-rows.ts';

test('tsvString escapes tab, newline, carriage return and backslash and leaves everything else as it is', () => {
  assert.equal(tsvString('plain /v1/items?q=a b'), 'plain /v1/items?q=a b');
  assert.equal(tsvString('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
  assert.equal(tsvString('ünï "quoted" \'single\''), 'ünï "quoted" \'single\'');
});

test('rawRowTsv has one field per raw column, in RAW_COLUMNS order', () => {
  const line = rawRowTsv(sampleEvent(), 'kafka:t:0', 42);
  assert.ok(line.endsWith('\n'));
  const fields = line.slice(0, -1).split('\t');
  assert.equal(fields.length, RAW_COLUMNS.length);
  const row = rawRow(sampleEvent(), 'kafka:t:0', 42);
  assert.deepEqual(
    fields,
    RAW_COLUMNS.map((c) => String(row[c])),
  );
});

test('a TSV row and a JSONEachRow row of the same awkward event read back identically from ClickHouse', {
  skip: skipWithoutClickHouse,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    // Within the raw events' retention: a current ClickHouse drops rows past the table's TTL as they are inserted.
    const awkward = sampleEvent({
      startMs: Math.floor(Date.now() / 1000) * 1000 - 3_600_000 + 123,
      node: 'n\t1',
      route: 'a\nb\\c',
      target: 'x\ry',
      clientIp: '::1',
      appId: 'ü"\'',
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
    await db.exec(RAW_INSERT_TSV + rawRowTsv(awkward, 'kafka:t:0', 1));
    await db.insert('access_events', [rawRow(awkward, 'kafka:t:1', 1)]);
    const rows = await db.query<Record<string, unknown>>(`SELECT ${RAW_COLUMNS.filter((c) => c !== 'source')
      .map((c) => (c === 'ts' ? 'toUInt32(ts) AS ts' : c))
      .join(', ')}
FROM access_events ORDER BY source`);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], rows[1]);
    assert.equal(rows[0].route, 'a\nb\\c');
    assert.equal(Number(rows[0].ts), Math.floor(awkward.startMs / 1000));
  });
});

test('a connection that lasted hours keeps its duration in ClickHouse (past UInt32 microseconds: 71.6 minutes)', {
  skip: skipWithoutClickHouse,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    const hours = 2 * 3600 * 1e6;
    const long = sampleEvent({
      startMs: Math.floor(Date.now() / 1000) * 1000 - 3_600_000,
      totalUs: hours,
      upstreamUs: hours - 250,
      gatewayUs: 250,
    });
    await db.exec(RAW_INSERT_TSV + rawRowTsv(long, 'kafka:t:0', 1));
    await db.insert('access_events', [rawRow(long, 'kafka:t:1', 1)]);
    const rows = await db.query<Record<string, unknown>>(
      'SELECT total_us, upstream_us, gateway_us FROM access_events ORDER BY source',
    );
    const read = rows.map((r) => [Number(r.total_us), Number(r.upstream_us), Number(r.gateway_us)]);
    assert.deepEqual(read, [
      [hours, hours - 250, 250],
      [hours, hours - 250, 250],
    ]);
  });
});
