import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildDashboards, renderAll } from './src/render.ts';
import { panelsOf, prometheusExpressions, variablesOf } from './walk.ts';

const JSON_DIR = join(import.meta.dirname, 'json');

/**
 * The metric names planned for issue 3 (gateway metrics that exist, event sink
 * and collector metrics to come), plus Prometheus' own `up`. A dashboard query
 * naming anything else is a typo or an invented metric.
 */
const PLANNED_METRICS: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  tollgate_requests_total: 'counter',
  tollgate_request_duration_seconds: 'histogram',
  tollgate_gateway_errors_total: 'counter',
  tollgate_grpc_calls_total: 'counter',
  tollgate_websocket_connections: 'gauge',
  tollgate_websocket_bytes_total: 'counter',
  tollgate_websocket_messages_total: 'counter',
  tollgate_websocket_closed_total: 'counter',
  tollgate_stream_connections: 'gauge',
  tollgate_stream_bytes_total: 'counter',
  tollgate_stream_closed_total: 'counter',
  tollgate_stream_refused_total: 'counter',
  tollgate_tls_handshakes_total: 'counter',
  tollgate_tls_resumed_handshakes_total: 'counter',
  tollgate_connections_refused_total: 'counter',
  tollgate_tls_certificate_expiry_timestamp_seconds: 'gauge',
  tollgate_tls_ocsp_staple_expiry_timestamp_seconds: 'gauge',
  tollgate_responses_aborted_total: 'counter',
  tollgate_upstream_ejections_total: 'counter',
  tollgate_upstream_ejections_overflow_total: 'counter',
  tollgate_upstream_target_healthy: 'gauge',
  tollgate_inflight_requests: 'gauge',
  tollgate_config_reloads_total: 'counter',
  tollgate_config_version: 'gauge',
  tollgate_store_up: 'gauge',
  tollgate_worker_restarts_total: 'counter',
  tollgate_events_emitted_total: 'counter',
  tollgate_events_dropped_total: 'counter',
  tollgate_event_spool_bytes: 'gauge',
  tollgate_event_spool_events: 'gauge',
  tollgate_event_sink_up: 'gauge',
  tollgate_collector_events_total: 'counter',
  tollgate_collector_consumer_lag: 'gauge',
  tollgate_collector_clickhouse_insert_failures_total: 'counter',
  tollgate_collector_clickhouse_inserts_total: 'counter',
  tollgate_collector_batch_seconds: 'histogram',
  tollgate_collector_redis_up: 'gauge',
  up: 'gauge',
};

/** Names a PromQL expression selects: what remains once strings, label matchers, ranges, groupings and function calls
 * are set aside. */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = [...bare.matchAll(/\b[a-zA-Z_]\w*\b(?!\s*\()/g)].map((m) => m[0]);
  return names.filter((n) => !['and', 'or', 'unless', 'bool', 'offset'].includes(n));
}

/** `tollgate_x_bucket` of a planned histogram counts as `tollgate_x`; anything else must be planned as is. */
function plannedName(name: string): string | undefined {
  if (PLANNED_METRICS[name]) return name;
  const base = name.replace(/_(?:bucket|sum|count)$/, '');
  return PLANNED_METRICS[base] === 'histogram' ? base : undefined;
}

test(
  'committed dashboards/json matches a fresh generation ' + '(run `npm run dashboards` after editing dashboards/src)',
  () => {
    const fresh = renderAll();
    const committed = readdirSync(JSON_DIR)
      .filter((n) => n.endsWith('.json'))
      .sort();
    assert.deepEqual(
      committed,
      [...fresh.keys()].sort(),
      'dashboards/json holds exactly one file per generated dashboard',
    );
    for (const [name, content] of fresh) {
      assert.equal(readFileSync(join(JSON_DIR, name), 'utf8'), content, `dashboards/json/${name} is stale`);
    }
  },
);

test('dashboard uids are unique and name their files', () => {
  const uids = buildDashboards().map((d) => d.uid);
  assert.equal(new Set(uids).size, uids.length, `duplicate uid among ${uids.join(', ')}`);
  assert.deepEqual(
    [...renderAll().keys()],
    uids.map((uid) => `${uid}.json`),
  );
});

test("every panel queries its dashboard's datasource variable with at least one target", () => {
  for (const dashboard of buildDashboards()) {
    const dsVariable = variablesOf(dashboard).find((v) => v.type === 'datasource');
    assert.ok(dsVariable, `${dashboard.uid} has a datasource variable`);
    const expected = { type: dsVariable.query, uid: `\${${dsVariable.name}}` };
    const panels = panelsOf(dashboard);
    assert.ok(panels.length > 0, `${dashboard.uid} has panels`);
    for (const panel of panels) {
      const where = `${dashboard.uid} / "${panel.title}"`;
      assert.deepEqual(panel.datasource, expected, `${where} has the dashboard's datasource`);
      assert.ok((panel.targets ?? []).length > 0, `${where} has a target`);
      const refIds = panel.targets!.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${where} has distinct refIds`);
      for (const target of panel.targets!) {
        assert.deepEqual(target.datasource, expected, `${where} target ${target.refId} has the dashboard's datasource`);
        assert.ok(target.expr || target.rawSql, `${where} target ${target.refId} has a query`);
      }
    }
  }
});

test('every Prometheus metric the dashboards query is a planned metric name', () => {
  const unknown = new Set<string>();
  for (const expr of prometheusExpressions()) {
    for (const name of metricNamesIn(expr)) if (!plannedName(name)) unknown.add(name);
  }
  assert.deepEqual([...unknown], [], 'metric names not in the planned list');
});

test('every planned metric is shown on some dashboard', () => {
  const used = new Set(prometheusExpressions().flatMap(metricNamesIn).map(plannedName));
  assert.deepEqual(
    Object.keys(PLANNED_METRICS).filter((m) => !used.has(m)),
    [],
  );
});

test('the metric name check sees through functions, groupings, matchers and histogram suffixes', () => {
  const expr =
    'histogram_quantile(0.9, sum by (service, le) ' +
    '(rate(tollgate_request_duration_seconds_bucket{service=~"a|b"}[$__rate_interval])))\n/ on (x) tollgate_typo_total';
  assert.deepEqual(metricNamesIn(expr), ['tollgate_request_duration_seconds_bucket', 'tollgate_typo_total']);
  assert.equal(plannedName('tollgate_request_duration_seconds_bucket'), 'tollgate_request_duration_seconds');
  assert.equal(plannedName('tollgate_requests_total_bucket'), undefined);
  assert.equal(plannedName('tollgate_typo_total'), undefined);
});

test('provisioning declares one datasource per plugin the dashboards use and serves the mounted json folder', () => {
  const dir = join(import.meta.dirname, 'provisioning');
  const { datasources } = parse(readFileSync(join(dir, 'datasources', 'datasources.yml'), 'utf8')) as {
    datasources: { type: string; uid: string }[];
  };
  const { providers } = parse(readFileSync(join(dir, 'dashboards', 'dashboards.yml'), 'utf8')) as {
    providers: { type: string; options: { path: string } }[];
  };
  const used = new Set(buildDashboards().map((d) => variablesOf(d).find((v) => v.type === 'datasource')?.query));
  for (const type of used) {
    assert.equal(
      datasources.filter((ds) => ds.type === type).length,
      1,
      `one provisioned datasource of type ${String(type)}`,
    );
  }
  assert.deepEqual(
    providers.map((p) => [p.type, p.options.path]),
    [['file', '/var/lib/grafana/dashboards']],
  );
});
