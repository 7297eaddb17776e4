import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSamples } from './prometheus.ts';
import { RATE_FAMILIES, ratesBetween, totalsByService } from './live-rates.ts';

const reading = (ok: number, errors: number, fast: number, slow: number) =>
  totalsByService(
    parseSamples(
      [
        `tollgate_requests_total{service="api",route="r",status_class="2xx"} ${ok}`,
        `tollgate_requests_total{service="api",route="r",status_class="5xx"} ${errors}`,
        `tollgate_requests_total{service="web",route="w",status_class="4xx"} 10`,
        `tollgate_request_duration_seconds_bucket{service="api",route="r",status_class="2xx",le="0.01"} ${fast}`,
        `tollgate_request_duration_seconds_bucket{service="api",route="r",status_class="2xx",le="1"} ${fast + slow}`,
        `tollgate_request_duration_seconds_bucket{service="api",route="r",status_class="2xx",le="+Inf"} ${fast + slow}`,
      ].join('\n'),
      RATE_FAMILIES,
    ),
  );

test('rates per service and over all between two readings: req/s, 5xx share and percentiles of the window', () => {
  const rates = ratesBetween(reading(100, 0, 100, 0), reading(190, 10, 150, 50), 2);
  const api = rates.find((r) => r.service === 'api')!;
  assert.equal(api.rps, 50);
  assert.equal(api.errorRatio, 0.1);
  assert.equal(api.p50Ms, 10);
  assert.ok(api.p99Ms! > 900 && api.p99Ms! <= 1000);
  const web = rates.find((r) => r.service === 'web')!;
  assert.deepEqual([web.rps, web.refusedRatio, web.p50Ms], [0, 0, undefined]);
  assert.equal(rates[0].service, '', 'all services first');
  assert.equal(rates[0].rps, 50);
});

test('a counter that went back (the gateway restarted) counts from zero, never negative', () => {
  const [, api] = ratesBetween(reading(1000, 50, 1000, 0), reading(20, 0, 20, 0), 1);
  assert.equal(api.service, 'api');
  assert.equal(api.rps, 20);
  assert.equal(api.errorRatio, 0);
});
