import {
  CustomVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { newDashboard, timeSeries } from './common.ts';
import type { Dashboard } from './common.ts';
import { CLICKHOUSE_PLUGIN_ID, clickHouseDatasource as ds, clickHouseTargets } from './clickhouse.ts';
import {
  TOP_APPS,
  distinctValuesSql,
  perAppLatencySql,
  perAppSeriesSql,
  topAppsSql,
  totalsSeriesSql,
} from './traffic-sql.ts';

export const TENANT_TRAFFIC_UID = 'tollgate-tenant-traffic';

const TOP_APPS_TABLE_ROWS = 25;

function valuesVariable(name: string, label: string, column: string): QueryVariableBuilder {
  const sql = distinctValuesSql(column);
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(ds)
    .query(sql)
    .definition(sql)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true);
}

const perApp = (title: string, description: string, sql: string, unit: string) =>
  timeSeries({
    title: `${title} (top ${TOP_APPS} apps)`,
    description,
    datasource: ds,
    targets: clickHouseTargets({ sql, result: 'timeseries' }),
    unit,
    width: 12,
  }).displayName('${__field.labels.App}');

export function tenantTraffic(): Dashboard {
  return newDashboard({
    uid: TENANT_TRAFFIC_UID,
    title: 'Tollgate / Tenant traffic',
    description:
      "Per-app (tenant) traffic from the collector's hour and day aggregates in ClickHouse " +
      '(tollgate.traffic_hourly, tollgate.traffic_daily): the same numbers as the reports API.',
    pluginId: CLICKHOUSE_PLUGIN_ID,
    datasourceLabel: 'ClickHouse',
    timeFrom: 'now-7d',
    refresh: '5m',
    timezone: 'utc',
  })
    .withVariable(
      new CustomVariableBuilder('granularity')
        .label('Granularity')
        .description(
          'hourly reads tollgate.traffic_hourly, daily reads tollgate.traffic_daily (use it for long ranges)',
        )
        .values('hourly,daily')
        .current({ selected: true, text: 'hourly', value: 'hourly' }),
    )
    .withVariable(valuesVariable('app', 'App', 'app_id'))
    .withVariable(valuesVariable('service', 'Service', 'service'))

    .withRow(new RowBuilder('Requests and errors per app'))
    .withPanel(
      perApp(
        'Requests per app',
        'Requests per bucket, including requests the gateway rejected.',
        perAppSeriesSql('requests', 'Requests'),
        'short',
      ),
    )
    .withPanel(
      timeSeries({
        title: 'Status mix',
        description: 'Requests per bucket by status class, over the selected apps and services.',
        datasource: ds,
        targets: clickHouseTargets({
          sql: totalsSeriesSql({ '2xx': 'status_2xx', '3xx': 'status_3xx', '4xx': 'status_4xx', '5xx': 'status_5xx' }),
          result: 'timeseries',
        }),
        unit: 'short',
        width: 12,
        stacked: true,
      }),
    )
    .withPanel(
      perApp(
        '5xx per app',
        'Requests answered with a 5xx status (upstream failures and gateway errors such as upstream_timeout).',
        perAppSeriesSql('status_5xx', '5xx'),
        'short',
      ),
    )
    .withPanel(
      perApp(
        '4xx per app',
        'Requests answered with a 4xx status, including gateway rejections (unauthorized, forbidden, rate_limited).',
        perAppSeriesSql('status_4xx', '4xx'),
        'short',
      ),
    )

    .withRow(new RowBuilder('Latency per app'))
    .withPanel(
      perApp(
        'p95 latency per app',
        'p95 of total request time, computed in SQL from the stored latency histograms (latency_buckets), ' +
          'interpolated within a bucket as Prometheus histogram_quantile does.',
        perAppLatencySql(0.95),
        'ms',
      ),
    )
    .withPanel(
      perApp(
        'p50 latency per app',
        'Median total request time, from the stored latency histograms.',
        perAppLatencySql(0.5),
        'ms',
      ),
    )

    .withRow(new RowBuilder('Top apps'))
    .withPanel(
      new TablePanel()
        .title(`Top ${TOP_APPS_TABLE_ROWS} apps by requests in the range`)
        .description(
          "Totals over the dashboard time range; latency quantiles merge every bucket's histogram of the range.",
        )
        .datasource(ds)
        .targets(clickHouseTargets({ sql: topAppsSql(TOP_APPS_TABLE_ROWS), result: 'table' }))
        .span(24)
        .height(10)
        .overrideByName('5xx ratio', [{ id: 'unit', value: 'percentunit' }])
        .overrideByName('Bytes in', [{ id: 'unit', value: 'bytes' }])
        .overrideByName('Bytes out', [{ id: 'unit', value: 'bytes' }])
        .overrideByRegexp('^p\\d+ ms$', [{ id: 'unit', value: 'ms' }]),
    )
    .build();
}
