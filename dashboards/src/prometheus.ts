import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { datasourceRef, withRefIds } from './common.ts';
import type { Query } from './common.ts';

export const PROMETHEUS_PLUGIN_ID = 'prometheus';
export const prometheusDatasource = datasourceRef(PROMETHEUS_PLUGIN_ID);

export interface PromTarget {
  expr: string;
  legend: string;
  /** Ask for the series' exemplars too (the trace ids of traced requests on latency buckets; docs/tracing.md). */
  exemplar?: boolean;
}

/** Range queries with refIds A, B, … on the dashboard's Prometheus datasource variable. */
export function promTargets(...targets: PromTarget[]): Query[] {
  return withRefIds(
    targets.map((t) => {
      const query = new DataqueryBuilder().datasource(prometheusDatasource).expr(t.expr).legendFormat(t.legend).range();
      return t.exemplar ? query.exemplar(true) : query;
    }),
  );
}

/** A quantile of a Prometheus histogram per `by` label, the way promtool alert rules compute it too. */
export function histogramQuantile(q: number, bucketMetric: string, selector: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${bucketMetric}${selector}[$__rate_interval])))`;
}
