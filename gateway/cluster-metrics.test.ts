import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ClusterMetrics } from './cluster-metrics.ts';

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

test('an exited worker\'s counters and histograms are kept and summed; its gauges are not', async () => {
  const cluster = new ClusterMetrics();
  cluster.retire(await workerMetrics(4, 3) as never);
  cluster.retire(await workerMetrics(2, 5) as never);
  const text = await cluster.metrics();
  assert.match(text, /^requests_total\{service="a"\} 6$/m);
  assert.match(text, /^requests_total\{service="b"\} 2$/m);
  assert.match(text, /^duration_seconds_bucket\{le="0.1"\} 6$/m);
  assert.match(text, /^duration_seconds_count 6$/m);
  assert.doesNotMatch(text, /^inflight/m, 'a dead worker has nothing in flight');
  assert.doesNotMatch(text, /^odd_total/m, 'only summed counters can be carried over');
});
