import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteStatsRegistry } from './route-stats.ts';

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

function histogram(registry: RouteStatsRegistry): Value[] {
  const metric = registry.metrics().find((m) => m.name === 'tollgate_request_duration_seconds')!;
  return metric.get().values as Value[];
}

test('request duration is a histogram per service, route and status class, so fast errors and slow successes stay apart', () => {
  const registry = new RouteStatsRegistry();
  const stats = registry.get('shop', 'api');
  stats.record(200, 2);
  stats.record(200, 3);
  stats.record(503, 0.0004);
  const values = histogram(registry);
  const count = (statusClass: string) => values.find((v) => v.metricName === 'tollgate_request_duration_seconds_count' && v.labels.status_class === statusClass)?.value;
  const sum = (statusClass: string) => values.find((v) => v.metricName === 'tollgate_request_duration_seconds_sum' && v.labels.status_class === statusClass)?.value;
  const bucket = (statusClass: string, le: number | string) =>
    values.find((v) => v.metricName === 'tollgate_request_duration_seconds_bucket' && v.labels.status_class === statusClass && v.labels.le === le)?.value;
  assert.equal(count('2xx'), 2);
  assert.equal(sum('2xx'), 5);
  assert.equal(count('5xx'), 1);
  assert.equal(sum('5xx'), 0.0004);
  assert.equal(count('4xx'), undefined, 'a class without requests has no series');
  assert.equal(bucket('5xx', 0.0005), 1, 'the fast error in the first bucket');
  assert.equal(bucket('2xx', 1), 0, 'the slow successes are not under 1 s');
  assert.equal(bucket('2xx', 5), 2);
  assert.equal(bucket('2xx', '+Inf'), 2);
  for (const v of values) {
    const expected = v.metricName === 'tollgate_request_duration_seconds_bucket' ? ['le', 'route', 'service', 'status_class'] : ['route', 'service', 'status_class'];
    assert.deepEqual(Object.keys(v.labels).sort(), expected);
  }
});

test('requests_total and the histogram count agree per status class', () => {
  const registry = new RouteStatsRegistry();
  const stats = registry.get('shop', 'api');
  for (const status of [200, 204, 404, 502, 99, 600]) stats.record(status, 0.01);
  const totals = registry.metrics().find((m) => m.name === 'tollgate_requests_total')!.get().values as Value[];
  const counts = histogram(registry).filter((v) => v.metricName === 'tollgate_request_duration_seconds_count');
  const byClass = (vs: Value[]) => Object.fromEntries(vs.map((v) => [v.labels.status_class, v.value]));
  assert.deepEqual(byClass(counts), byClass(totals));
  assert.deepEqual(byClass(totals), { '2xx': 2, '4xx': 1, '5xx': 3 });
});
