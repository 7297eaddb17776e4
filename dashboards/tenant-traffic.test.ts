// Runs the tenant traffic dashboard's SQL, expanded as Grafana and the ClickHouse
// plugin would, on the real ClickHouse from `npm run services:up`
// (TOLLGATE_TEST_CLICKHOUSE_URL), in a scratch database migrated from migrations/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '../collector/clickhouse/http-client.ts';
import { migrate } from '../collector/clickhouse/migrate.ts';
import {
  aggregateReport,
  appTraffic,
  skipWithoutClickHouse,
  testClickHouseClient,
} from '../collector/clickhouse/test-clickhouse.ts';
import { LATENCY_BUCKETS_S } from '../shared/latency-buckets.ts';
import { expandMacros } from './expand-macros.ts';
import type { MacroContext } from './expand-macros.ts';
import { tenantTraffic } from './src/tenant-traffic.ts';

const HOUR_S = 3600;
const DAY_S = 86_400;

interface DashboardJson {
  panels: { title: string; targets?: { rawSql?: string }[] }[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
}

function dashboardSql(): { where: string; sql: string }[] {
  const d = tenantTraffic() as unknown as DashboardJson;
  const panels = d.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, sql: t.rawSql ?? '' })),
  );
  const variables = d.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable ${v.name}`, sql: String(v.query) }));
  return [...panels, ...variables];
}

function pick<T extends object>(o: T, keys: string[]): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, o[k as keyof T]])) as Partial<T>;
}

function panelSql(titleStart: string): string {
  const found = dashboardSql().find((q) => q.where.startsWith(`panel "${titleStart}`));
  assert.ok(found, `the dashboard has a panel "${titleStart}…"`);
  return found.sql;
}

// Two sources (Kafka partitions) of one app and hour. Source A's row at offset 10
// is superseded by its row at offset 20, which is inserted twice (a retried
// insert); only the newest row per source counts. Together: 100 requests whose
// histogram puts p50 in (25ms, 50ms], p95 at the top of (250ms, 500ms] and p99 at
// the top of (1s, 2.5s].
const ROWS = [
  {
    source: 'kafka:events:0',
    offset: 10,
    requests: 40,
    s2xx: 40,
    s3xx: 0,
    s4xx: 0,
    s5xx: 0,
    billable: 40,
    hist: [0, 0, 0, 0, 0, 0, 30, 10, 0, 0, 0, 0, 0, 0, 0, 0],
  },
  {
    source: 'kafka:events:0',
    offset: 20,
    requests: 60,
    s2xx: 50,
    s3xx: 0,
    s4xx: 5,
    s5xx: 5,
    billable: 55,
    hist: [0, 0, 0, 0, 0, 0, 30, 10, 10, 5, 3, 1, 1, 0, 0, 0],
  },
  {
    source: 'kafka:events:0',
    offset: 20,
    requests: 60,
    s2xx: 50,
    s3xx: 0,
    s4xx: 5,
    s5xx: 5,
    billable: 55,
    hist: [0, 0, 0, 0, 0, 0, 30, 10, 10, 5, 3, 1, 1, 0, 0, 0],
  },
  {
    source: 'kafka:events:1',
    offset: 5,
    requests: 40,
    s2xx: 30,
    s3xx: 5,
    s4xx: 5,
    s5xx: 0,
    billable: 35,
    hist: [1, 2, 3, 4, 10, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  },
];

describe('tenant traffic SQL on ClickHouse', { skip: skipWithoutClickHouse }, () => {
  let client: ClickHouseClient;
  const database = `tollgate_test_${randomBytes(6).toString('hex')}`;
  const nowS = Math.floor(Date.now() / 1000);
  const hourS = Math.floor(nowS / HOUR_S) * HOUR_S - 2 * HOUR_S;
  const dayS = Math.floor(hourS / DAY_S) * DAY_S;
  const app = 'app-dashboards';

  /** Expanded as Grafana would, then pointed at the scratch database. */
  const run = (sql: string, ctx: MacroContext) =>
    client.query(expandMacros(sql, ctx).replaceAll('tollgate.', `${database}.`));

  before(async () => {
    client = testClickHouseClient();
    await migrate({ client, database });
    for (const [table, bucket] of [
      ['traffic_hourly', hourS],
      ['traffic_daily', dayS],
    ] as const) {
      for (const r of ROWS) {
        assert.equal(r.hist.length, LATENCY_BUCKETS_S.length + 1, 'one count per bucket plus +Inf');
        // One INSERT per row, so the duplicate lands in its own part and stays unmerged while read.
        await client.exec(`INSERT INTO ${database}.${table}
          (bucket, app_id, service, source, source_offset, requests, status_2xx, status_3xx, status_4xx, status_5xx,
            billable, bytes_in, bytes_out, latency_buckets, messages_in, messages_out)
          VALUES (toDateTime(${bucket}), '${app}', 'orders', '${r.source}', ${r.offset}, ${r.requests},
            ${r.s2xx}, ${r.s3xx}, ${r.s4xx}, ${r.s5xx}, ${r.billable}, ${r.requests * 10}, ${r.requests * 100},
            [${r.hist.join(',')}], ${r.requests * 2}, ${r.requests * 3})`);
      }
    }
  });

  after(async () => {
    await client?.exec(`DROP DATABASE IF EXISTS ${database}`);
  });

  test('every panel and variable query runs, hourly and daily, for All and for chosen apps and services', async () => {
    const selections: MacroContext['variables'][] = [
      { app: null, service: null },
      { app: [app, "o'brien"], service: ['orders'] },
    ];
    for (const { where, sql } of dashboardSql()) {
      for (const granularity of ['hourly', 'daily']) {
        for (const selection of selections) {
          const ctx = { fromS: nowS - 7 * DAY_S, toS: nowS, variables: { granularity: [granularity], ...selection } };
          assert.doesNotMatch(expandMacros(sql, ctx), /\$/, `${where}: unexpanded macro or variable`);
          await run(sql, ctx);
        }
      }
    }
  });

  test(
    'the top apps table counts the newest row of each ' +
      'source once and derives p50/p95/p99 from the merged histogram',
    async () => {
      // The range starts half way into the seeded hour: that bucket must still count.
      const ctx: MacroContext = {
        fromS: hourS + HOUR_S / 2,
        toS: nowS,
        variables: { granularity: ['hourly'], app: [app], service: null },
      };
      const rows = await run(panelSql('Top'), ctx);
      assert.equal(rows.length, 1);
      const row = Object.fromEntries(Object.entries(rows[0]).map(([k, v]) => [k, k === 'App' ? v : Number(v)]));
      assert.deepEqual(row, {
        App: app,
        Requests: 100,
        Billable: 90,
        '2xx': 80,
        '3xx': 5,
        '4xx': 10,
        '5xx': 5,
        '5xx ratio': 0.05,
        'Bytes in': 1000,
        'Bytes out': 10_000,
        'Messages in': 200,
        'Messages out': 300,
        'p50 ms': 33.333,
        'p95 ms': 500,
        'p99 ms': 2500,
      });
    },
  );

  test('the daily granularity reads the day table from the start of the day the range begins in', async () => {
    const ctx: MacroContext = {
      fromS: hourS,
      toS: nowS,
      variables: { granularity: ['daily'], app: null, service: ['orders'] },
    };
    const rows = await run(panelSql('Requests per app'), ctx);
    assert.deepEqual(
      rows.map((r) => [r.App, Number(r.Requests)]),
      [[app, 100]],
    );
  });

  test(
    'every panel gives the numbers of the reports API ' + '(GET /reports/traffic) for the same app and bucket',
    async () => {
      const db = client.withDatabase(database);
      for (const [granularity, bucketS, stepS] of [
        ['hourly', hourS, HOUR_S],
        ['daily', dayS, DAY_S],
      ] as const) {
        const [report] = await aggregateReport(
          db,
          appTraffic(app, granularity === 'hourly' ? 'hour' : 'day', bucketS, bucketS + stepS),
        );
        assert.ok(report, `the reports API has the ${granularity} bucket`);
        const ctx: MacroContext = {
          fromS: bucketS,
          toS: bucketS + stepS - 1,
          variables: { granularity: [granularity], app: [app], service: null },
        };
        const value = async (title: string, column: string) => {
          const rows = await run(panelSql(title), ctx);
          assert.equal(rows.length, 1, `${granularity} "${title}": one row for the one bucket`);
          return Number(rows[0][column]);
        };
        const panels = {
          requests: await value('Requests per app', 'Requests'),
          status_2xx: await value('Status mix', '2xx'),
          status_3xx: await value('Status mix', '3xx'),
          status_4xx: await value('4xx per app', '4xx'),
          status_5xx: await value('5xx per app', '5xx'),
          latency_p50_ms: await value('p50 latency per app', 'p50 ms'),
          latency_p95_ms: await value('p95 latency per app', 'p95 ms'),
        };
        const table = {
          requests: await value('Top', 'Requests'),
          status_2xx: await value('Top', '2xx'),
          status_3xx: await value('Top', '3xx'),
          status_4xx: await value('Top', '4xx'),
          status_5xx: await value('Top', '5xx'),
          bytes_in: await value('Top', 'Bytes in'),
          bytes_out: await value('Top', 'Bytes out'),
          messages_in: await value('Top', 'Messages in'),
          messages_out: await value('Top', 'Messages out'),
          latency_p50_ms: await value('Top', 'p50 ms'),
          latency_p95_ms: await value('Top', 'p95 ms'),
          latency_p99_ms: await value('Top', 'p99 ms'),
        };
        // The protocol breakdown is in the report only; this dashboard shows no protocol panel.
        const { bucket, protocols: _p, grpc_statuses: _g, ...numbers } = report;
        assert.equal(bucket, new Date(bucketS * 1000).toISOString());
        assert.deepEqual(panels, pick(numbers, Object.keys(panels)), `${granularity}: time series panels`);
        assert.deepEqual(table, numbers, `${granularity}: top apps table`);
      }
    },
  );
});
