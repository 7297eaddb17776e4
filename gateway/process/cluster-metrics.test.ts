import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ClusterMetrics } from './cluster-metrics.ts';
import { RouteStatsRegistry } from '../proxy/route-stats.ts';

/** What a worker sends: its registry as JSON, with a counter, a histogram and gauges. */
async function workerMetrics(requests: number, inflight: number) {
  const register = new Registry();
  const registers = [register];
  const counter = new Counter({ name: 'requests_total', help: 'h', labelNames: ['service'], registers });
  counter.inc({ service: 'a' }, requests);
  counter.inc({ service: 'b' }, 1);
  const histogram = new Histogram({ name: 'duration_seconds', help: 'h', buckets: [0.1, 1], registers });
  for (let i = 0; i < requests; i++) histogram.observe(0.05);
  new Gauge({ name: 'inflight', help: 'h', registers }).set(inflight);
  new Counter({ name: 'odd_total', help: 'h', registers, aggregator: 'max' }).inc(7);
  return register.getMetricsAsJSON();
}

test("an exited worker's counters and histograms are kept and summed; its gauges are not", async () => {
  const cluster = new ClusterMetrics();
  cluster.retire((await workerMetrics(4, 3)) as never);
  cluster.retire((await workerMetrics(2, 5)) as never);
  const text = await cluster.metrics();
  assert.match(text, /^requests_total\{service="a"\} 6$/m);
  assert.match(text, /^requests_total\{service="b"\} 2$/m);
  assert.match(text, /^duration_seconds_bucket\{le="0.1"\} 6$/m);
  assert.match(text, /^duration_seconds_count 6$/m);
  assert.doesNotMatch(text, /^inflight/m, 'a dead worker has nothing in flight');
  assert.doesNotMatch(text, /^odd_total/m, 'only summed counters can be carried over');
});

test(
  "an exited worker's per-route requests and latency (sent " +
    'compactly) are kept and summed, each family written once',
  async () => {
    const cluster = new ClusterMetrics();
    const first = new RouteStatsRegistry();
    first.get('api', 'api-0').record(200, 0.5);
    first.get('api', 'api-0').record(503, 2);
    const second = new RouteStatsRegistry();
    second.get('api', 'api-0').record(200, 0.25);
    second.get('web', 'web-0').record(404, 0.0625);
    cluster.retire((await workerMetrics(1, 0)) as never, first.wire());
    cluster.retire((await workerMetrics(1, 0)) as never, second.wire());
    const text = await cluster.metrics();
    assert.match(text, /^tollgate_requests_total\{service="api",route="api-0",status_class="2xx"\} 2$/m);
    assert.match(text, /^tollgate_requests_total\{service="api",route="api-0",status_class="5xx"\} 1$/m);
    assert.match(text, /^tollgate_requests_total\{service="web",route="web-0",status_class="4xx"\} 1$/m);
    assert.match(
      text,
      /^tollgate_request_duration_seconds_sum\{service="api",route="api-0",status_class="2xx"\} 0.75$/m,
    );
    assert.match(
      text,
      /^tollgate_request_duration_seconds_bucket\{service="api",route="api-0",status_class="2xx",le="0.5"\} 2$/m,
    );
    assert.match(text, /^requests_total\{service="a"\} 2$/m, 'the other families still summed');
    const families = text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]);
    assert.deepEqual(
      families.filter((name, i) => families.indexOf(name) !== i),
      [],
    );
    assert.ok(families.includes('tollgate_requests_total') && families.includes('tollgate_request_duration_seconds'));
  },
);

test("the workers' exemplars reach the merged route stats, the newest of a bucket winning", async () => {
  const cluster = new ClusterMetrics();
  const first = new RouteStatsRegistry();
  first.get('api', 'api-0').record(200, 0.2, 'a'.repeat(32));
  const second = new RouteStatsRegistry();
  second.get('api', 'api-0').record(200, 0.2, 'b'.repeat(32));
  second.get('web', 'web-0').record(503, 3, 'c'.repeat(32));
  const older = first.wire();
  older.exemplars![0][5] -= 1000;
  cluster.retire([], older);
  cluster.retire([], second.wire());
  const { routes } = await cluster.scrape();
  assert.equal(routes.find('api', 'api-0')?.exemplarAt('2xx', '0.25')?.traceId, 'b'.repeat(32), 'the newer one');
  assert.equal(routes.find('web', 'web-0')?.exemplarAt('5xx', '5')?.traceId, 'c'.repeat(32));
  assert.equal(routes.find('api', 'api-0')?.exemplarAt('2xx', '0.5'), undefined, 'other buckets have none');
  assert.equal(routes.find('api', 'api-0')?.n[1], 2, 'counts still summed');
});
