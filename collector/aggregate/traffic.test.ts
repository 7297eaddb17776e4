import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CLASSES, type AccessEvent, type ErrorClass } from '../../shared/access-event.ts';
import { LATENCY_BUCKETS_S } from '../../shared/latency-buckets.ts';
import {
  bucketStartMs,
  emptyCounters,
  latencySlot,
  mergeCounters,
  quantileMs,
  TrafficAggregator,
  type TrafficDelta,
} from './traffic.ts';
import { SAMPLE_START_MS, sampleEvent } from './sample-event.fixture.ts';

const T0 = SAMPLE_START_MS;

function keyOf(d: TrafficDelta): string {
  return `${d.granularity} ${d.bucketStartMs} ${d.appId} ${d.service}`;
}

function byKey(deltas: TrafficDelta[]): Map<string, TrafficDelta['counters']> {
  const out = new Map<string, TrafficDelta['counters']>();
  for (const d of deltas) out.set(keyOf(d), mergeCounters(out.get(keyOf(d)) ?? emptyCounters(), d.counters));
  return out;
}

test('buckets start at the UTC hour and day', () => {
  assert.equal(new Date(bucketStartMs('hour', T0)).toISOString(), '2025-03-10T13:00:00.000Z');
  assert.equal(new Date(bucketStartMs('day', T0)).toISOString(), '2025-03-10T00:00:00.000Z');
  assert.equal(
    bucketStartMs('hour', Date.UTC(2025, 2, 10, 14)),
    Date.UTC(2025, 2, 10, 14),
    'a bucket start is its own bucket',
  );
});

test('counts requests, status classes, billable, bytes and rejections by class per hour and day', () => {
  const agg = new TrafficAggregator();
  agg.add(sampleEvent());
  agg.add(sampleEvent({ status: 302, upstreamStatus: 302 }));
  agg.add(sampleEvent({ status: 429, upstreamStatus: 0, errorClass: 'rate_limited' }));
  agg.add(sampleEvent({ status: 503, upstreamStatus: 503, bytesOut: 7 }));
  agg.add(sampleEvent({ status: 504, upstreamStatus: 0, errorClass: 'upstream_timeout' }));
  const deltas = agg.drain();
  assert.equal(deltas.length, 2, 'one hour row and one day row');
  const hour = deltas.find((d) => d.granularity === 'hour')!;
  const day = deltas.find((d) => d.granularity === 'day')!;
  assert.deepEqual(hour.counters, day.counters);
  const c = hour.counters;
  assert.deepEqual([c.requests, c.status2xx, c.status3xx, c.status4xx, c.status5xx], [5, 1, 1, 1, 2]);
  assert.equal(c.billable, 2, 'the 200 and the 302; refusals, upstream failures and 5xx are not billed');
  assert.equal(c.bytesIn, 50);
  assert.equal(c.bytesOut, 407);
  const rejected = (cls: ErrorClass) => c.rejections[ERROR_CLASSES.indexOf(cls)];
  assert.equal(rejected('rate_limited'), 1);
  assert.equal(rejected('upstream_timeout'), 1);
  assert.equal(rejected('none'), 0, "the 'none' slot stays 0");
  assert.equal(agg.drain().length, 0, 'drain empties the aggregator');
});

test('keys rows by app and service, and a late event lands in its own hour and day', () => {
  const agg = new TrafficAggregator();
  agg.add(sampleEvent());
  agg.add(sampleEvent({ appId: 'other' }));
  agg.add(sampleEvent({ service: 'billing' }));
  agg.add(sampleEvent({ startMs: T0 - 30 * 3_600_000 }));
  const rows = byKey(agg.drain());
  assert.equal(rows.size, 8);
  assert.equal(rows.get(`hour ${Date.UTC(2025, 2, 10, 13)} acme api`)!.requests, 1);
  assert.equal(rows.get(`hour ${Date.UTC(2025, 2, 9, 7)} acme api`)!.requests, 1);
  assert.equal(rows.get(`day ${Date.UTC(2025, 2, 9)} acme api`)!.requests, 1);
});

test('latency slots use le semantics with a last +Inf slot', () => {
  assert.equal(latencySlot(0), 0);
  assert.equal(latencySlot(500), 0, '0.5 ms is inside the 0.0005 s bucket');
  assert.equal(latencySlot(501), 1);
  assert.equal(latencySlot(30_000_000), LATENCY_BUCKETS_S.length - 1);
  assert.equal(latencySlot(30_000_001), LATENCY_BUCKETS_S.length, 'past the last bound is +Inf');
  assert.equal(emptyCounters().latency.length, LATENCY_BUCKETS_S.length + 1);
});

test('aggregating two halves and merging equals aggregating everything', () => {
  const events: AccessEvent[] = [];
  const classes: ErrorClass[] = ['none', 'none', 'rate_limited', 'no_route', 'unauthorized'];
  for (let i = 0; i < 500; i++) {
    events.push(
      sampleEvent({
        startMs: T0 + i * 613_000,
        appId: `app${i % 3}`,
        service: `svc${i % 2}`,
        status: [200, 201, 304, 404, 500][i % 5],
        totalUs: (i * 7919) % 5_000_000,
        bytesIn: i,
        bytesOut: i * 3,
        errorClass: classes[(i >> 2) % 5],
      }),
    );
  }
  const all = new TrafficAggregator();
  for (const e of events) all.add(e);
  const first = new TrafficAggregator();
  const second = new TrafficAggregator();
  events.forEach((e, i) => (i % 3 === 0 ? first : second).add(e));
  assert.deepEqual(byKey([...first.drain(), ...second.drain()]), byKey(all.drain()));
});

test('mergeCounters keeps the longer array when a list grew', () => {
  const a = emptyCounters();
  a.latency = [1, 2];
  const b = emptyCounters();
  b.latency = [1, 1, 5];
  assert.deepEqual(mergeCounters(a, b).latency, [2, 3, 5]);
});

test('quantiles interpolate inside the bucket like histogram_quantile', () => {
  const h = emptyCounters().latency;
  assert.equal(quantileMs(h, 0.5), 0, 'an empty histogram answers 0');
  // 10 requests in (1 ms, 2.5 ms] and 10 in (2.5 ms, 5 ms].
  h[2] = 10;
  h[3] = 10;
  assert.equal(quantileMs(h, 0.5), 2.5, 'rank 10 is the top of the lower bucket');
  assert.equal(quantileMs(h, 0.75), 3.75, 'rank 15 is half way through (2.5, 5]');
  assert.equal(quantileMs(h, 0.25), 1.75);
  const first = emptyCounters().latency;
  first[0] = 4;
  assert.equal(quantileMs(first, 0.5), 0.25, 'the first bucket starts at 0');
  const inf = emptyCounters().latency;
  inf[LATENCY_BUCKETS_S.length] = 3;
  assert.equal(quantileMs(inf, 0.99), 30_000, 'the +Inf bucket answers the highest finite bound');
});

test('quantiles of merged histograms differ from averaged quantiles', () => {
  const fast = emptyCounters().latency;
  fast[0] = 99;
  const slow = emptyCounters().latency;
  slow[10] = 1;
  const merged = mergeCounters({ ...emptyCounters(), latency: fast }, { ...emptyCounters(), latency: slow }).latency;
  assert.ok(quantileMs(merged, 0.5) < 0.5, 'the median of 100 requests, 99 of them fast, is fast');
  assert.notEqual(quantileMs(merged, 0.5), (quantileMs(fast, 0.5) + quantileMs(slow, 0.5)) / 2);
});

test('an interim event adds its bytes to its own hour and nothing else; the final one is the request', () => {
  const agg = new TrafficAggregator();
  const hour = 3_600_000;
  const start = SAMPLE_START_MS - (SAMPLE_START_MS % hour);
  const base = { protocol: 'tcp' as const, status: 200, upstreamStatus: 200, grpcStatus: -1 };
  agg.add(sampleEvent({ ...base, startMs: start + hour + 5, interim: true, bytesIn: 100, bytesOut: 1000 }));
  agg.add(sampleEvent({ ...base, startMs: start + 2 * hour + 5, interim: true, bytesIn: 10, bytesOut: 20 }));
  agg.add(sampleEvent({ ...base, startMs: start + 10, totalUs: 3 * 3_600_000_000, bytesIn: 1, bytesOut: 2 }));
  const hours = agg
    .drain()
    .filter((d) => d.granularity === 'hour')
    .sort((a, b) => a.bucketStartMs - b.bucketStartMs);
  assert.deepEqual(
    hours.map((d) => [d.bucketStartMs - start, d.counters.requests, d.counters.bytesIn, d.counters.bytesOut]),
    [
      [0, 1, 1, 2],
      [hour, 0, 100, 1000],
      [2 * hour, 0, 10, 20],
    ],
  );
  assert.equal(
    hours[1]!.counters.latency.reduce((a, b) => a + b, 0),
    0,
    'no latency sample for an interim event',
  );
  assert.equal(hours[1]!.counters.billable + hours[1]!.counters.status2xx, 0);
});
