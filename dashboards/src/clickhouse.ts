import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { datasourceRef } from './common.ts';
import type { Query } from './common.ts';

/**
 * The Grafana ClickHouse plugin (grafana-clickhouse-datasource, v4) is not in the
 * foundation SDK, so its query model is declared here, as the SDK's README shows
 * for third-party plugins. `format` is the sqlds frame format the backend uses
 * (0 time series, 1 table); `queryType` is what the editor shows.
 */
export const CLICKHOUSE_PLUGIN_ID = 'grafana-clickhouse-datasource';
export const clickHouseDatasource = datasourceRef(CLICKHOUSE_PLUGIN_ID);

export type ClickHouseResult = 'timeseries' | 'table';
const SQLDS_FORMAT: Record<ClickHouseResult, number> = { timeseries: 0, table: 1 };

export interface ClickHouseQuery {
  refId: string;
  datasource: DataSourceRef;
  editorType: 'sql';
  queryType: ClickHouseResult;
  format: number;
  pluginVersion: string;
  rawSql: string;
  _implementsDataqueryVariant(): void;
}

export interface ClickHouseTarget {
  sql: string;
  result: ClickHouseResult;
}

export function clickHouseTargets(...targets: ClickHouseTarget[]): Query[] {
  return targets.map((t, i) => {
    const query: ClickHouseQuery = {
      refId: String.fromCharCode(65 + i),
      datasource: clickHouseDatasource,
      editorType: 'sql',
      queryType: t.result,
      format: SQLDS_FORMAT[t.result],
      pluginVersion: '',
      rawSql: t.sql,
      _implementsDataqueryVariant() {},
    };
    return { build: () => query };
  });
}
