// Measures the project's ClickHouse client against @clickhouse/client on the collector's own work, alternating:
// a batch of 20,000 raw events as TabSeparated (the collector's raw insert), 500 aggregate rows as JSONEachRow, and
// a report query read as JSONEachRow. docs/decisions/0015-clickhouse-client.md has the figures.
// Usage: TOLLGATE_TEST_CLICKHOUSE_URL=http://127.0.0.1:8124 node scripts/clickhouse-current/client-bench.ts [ROUNDS]
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { migrate } from '../../collector/clickhouse/migrate.ts';
import { RAW_INSERT_TSV, rawRowTsv } from '../../collector/cluster/raw-rows.ts';
import { sampleEvents } from '../../test/bench/events/sample-events.ts';

const url = process.env.TOLLGATE_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8124';
const rounds = Number(process.argv[2] ?? 10);
const database = `tollgate_bench_${randomBytes(4).toString('hex')}`;
const ours = createClickHouseClient({ url });
await migrate({ client: ours, database, retentionDays: 3650 });
const db = ours.withDatabase(database);
const theirs = createClient({ url, database });

const events = sampleEvents(20_000);
const raw = Buffer.from(events.map((e, i) => rawRowTsv(e, 'kafka:bench:0', i)).join(''));
const rawWithQuery = Buffer.concat([Buffer.from(RAW_INSERT_TSV), raw]);
const hourly = Array.from({ length: 500 }, (_, i) => ({
  bucket: 1_764_000_000 + (i % 24) * 3600,
  app_id: `app${i % 50}`,
  service: `svc${i % 10}`,
  source: 'kafka:bench:0',
  source_offset: i,
  requests: i,
}));
const report =
  'SELECT app_id, service, count() AS n, sum(bytes_out) AS bytes FROM access_events GROUP BY app_id, service';

const work: Record<string, Record<string, () => Promise<unknown>>> = {
  'raw insert (20,000 events, TSV)': {
    ours: () => db.exec(rawWithQuery),
    theirs: () =>
      theirs.exec({ query: RAW_INSERT_TSV.trim(), values: Readable.from([raw]) }).then((r) => r.stream.resume()),
  },
  'aggregate insert (500 rows, JSONEachRow)': {
    ours: () => db.insert('traffic_hourly', hourly),
    theirs: () => theirs.insert({ table: 'traffic_hourly', values: hourly, format: 'JSONEachRow' }),
  },
  'report query (JSONEachRow)': {
    ours: () => db.query(report),
    theirs: async () => (await theirs.query({ query: report, format: 'JSONEachRow' })).json(),
  },
};

for (const [name, clients] of Object.entries(work)) {
  const times: Record<string, number[]> = { ours: [], theirs: [] };
  for (let r = 0; r < rounds; r++) {
    for (const who of r % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours']) {
      const t0 = performance.now();
      await clients[who]();
      times[who].push(performance.now() - t0);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [a, b] = [median(times.ours), median(times.theirs)];
  const ratio = (b / a).toFixed(2);
  console.log(`${name.padEnd(42)} ours ${a.toFixed(2)} ms   @clickhouse/client ${b.toFixed(2)} ms   ratio ${ratio}`);
}
await ours.exec(`DROP DATABASE ${database}`);
await theirs.close();
