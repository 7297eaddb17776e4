import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCounters, type TrafficDelta } from '../aggregate/traffic.ts';
import { LiveStats } from './live-stats.ts';

const DAY = Date.UTC(2025, 2, 10);
const NOW = DAY + 12 * 3_600_000 + 500;

function dayDelta(appId: string, service: string, requests: number, bucketStartMs = DAY): TrafficDelta {
  const counters = { ...emptyCounters(), requests };
  return { granularity: 'day', bucketStartMs, appId, service, protocol: 'http/1.1', grpcSlot: 0, counters };
}

test("today's counts start from the store and follow stored batches of today only", () => {
  const live = new LiveStats(() => NOW);
  live.seed(DAY, [{ appId: 'acme', service: 'api', requests: 40 }]);
  live.apply(
    [dayDelta('acme', 'api', 2), dayDelta('beta', 'api', 5), dayDelta('acme', 'api', 9, DAY - 86_400_000)],
    new Map(),
  );
  assert.deepEqual(live.snapshot().today, [
    { app_id: 'acme', service: 'api', requests: 42 },
    { app_id: 'beta', service: 'api', requests: 5 },
  ]);
});

test("today's counts restart at midnight UTC", () => {
  let now = NOW;
  const live = new LiveStats(() => now);
  live.apply([dayDelta('acme', 'api', 2)], new Map());
  now = DAY + 86_400_000 + 1;
  assert.deepEqual(live.snapshot().today, []);
});

test('qps averages the last 10 complete seconds of request starts', () => {
  let now = NOW;
  const live = new LiveStats(() => now);
  const nowS = Math.floor(NOW / 1000);
  live.apply(
    [],
    new Map([
      [nowS - 1, 30],
      [nowS - 10, 20],
      [nowS - 11, 1000],
      [nowS, 7],
    ]),
  );
  assert.equal(live.snapshot().qps, 5, '(30 + 20) / 10: older seconds and the current one are left out');
  now += 5000;
  assert.equal(live.snapshot().qps, 3.7, 'the second 10 s ago left the window; the then-current one is complete now');
  now += 60_000;
  live.apply([], new Map([[nowS + 64, 10]]));
  assert.equal(live.snapshot().qps, 1, 'stale slots are not counted again after the ring wraps');
});
