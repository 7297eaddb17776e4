import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogramQuantile, parseSamples } from './prometheus.ts';

test('reads the samples of the asked families, labels unescaped, and no other', () => {
  const text = [
    '# HELP tollgate_requests_total Requests.',
    '# TYPE tollgate_requests_total counter',
    'tollgate_requests_total{service="a",route="r\\"1",status_class="2xx"} 12',
    'tollgate_requests_total{service="b\\\\c",route="",status_class="5xx"} 3 1700000000000',
    'tollgate_request_duration_seconds_bucket{service="a",le="0.005"} 4',
    'tollgate_request_duration_seconds_bucket{service="a",le="+Inf"} 12',
    'tollgate_request_duration_seconds_sum{service="a"} 0.5',
    'nodejs_heap_size_used_bytes 123',
    'tollgate_inflight_requests 2',
    '',
  ].join('\n');
  const samples = parseSamples(text, new Set(['tollgate_requests_total', 'tollgate_request_duration_seconds']));
  assert.deepEqual(
    samples.map((s) => [s.name, s.labels.service, s.value]),
    [
      ['tollgate_requests_total', 'a', 12],
      ['tollgate_requests_total', 'b\\c', 3],
      ['tollgate_request_duration_seconds_bucket', 'a', 4],
      ['tollgate_request_duration_seconds_bucket', 'a', 12],
      ['tollgate_request_duration_seconds_sum', 'a', 0.5],
    ],
  );
  assert.equal(samples[0].labels.route, 'r"1');
});

test('a quantile interpolates in its bucket as histogram_quantile does; +Inf answers the last finite bound', () => {
  const buckets = [
    { le: 0.01, count: 50 },
    { le: 0.1, count: 90 },
    { le: 1, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];
  assert.equal(histogramQuantile(0.5, buckets), 0.01);
  assert.ok(Math.abs(histogramQuantile(0.7, buckets)! - 0.055) < 1e-12);
  assert.equal(histogramQuantile(0.25, buckets), 0.005);
  assert.equal(histogramQuantile(0.99, [...buckets.slice(0, 3), { le: Number.POSITIVE_INFINITY, count: 200 }]), 1);
  assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }]), undefined);
});
