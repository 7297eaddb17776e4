import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CLOSED, HALF_OPEN, OPEN, type BreakerOptions } from './breaker.ts';

const opts: BreakerOptions = {
  minRequests: 10,
  errorRatio: 0.5,
  windowMs: 1000,
  openMs: 500,
  halfOpenProbes: 2,
  failureStatuses: [500, 502, 503, 504],
};

function make() {
  const seen: number[] = [];
  return { b: new CircuitBreaker(opts, (to) => seen.push(to)), seen };
}

test('stays closed below the minimum volume even when every outcome fails', () => {
  const { b } = make();
  for (let i = 0; i < 9; i++) b.record(1000, 503);
  assert.equal(b.state, CLOSED);
  assert.equal(b.allow(1000), true);
});

test('opens once the window holds min_requests outcomes and the failure ratio reaches error_ratio', () => {
  const { b, seen } = make();
  for (let i = 0; i < 5; i++) b.record(1000, 200);
  for (let i = 0; i < 4; i++) b.record(1000, 0);
  assert.equal(b.state, CLOSED, '4 of 9 failed, below volume');
  b.record(1000, 500);
  assert.equal(b.state, OPEN, '5 of 10 failed');
  assert.deepEqual(seen, [OPEN]);
  assert.equal(b.allow(1001), false);
  assert.equal(b.retryAfterMs(1100), 400);
});

test('a status outside failure_statuses is a success', () => {
  const { b } = make();
  for (let i = 0; i < 20; i++) b.record(1000, 404);
  assert.equal(b.state, CLOSED);
});

test('failures older than the window are forgotten', () => {
  const { b } = make();
  for (let i = 0; i < 9; i++) b.record(1000, 503);
  b.record(2500, 503);
  assert.equal(b.state, CLOSED);
});

test('after open_ms it lets exactly half_open_probes through, and their successes close it', () => {
  const { b, seen } = make();
  for (let i = 0; i < 10; i++) b.record(1000, 503);
  assert.equal(b.allow(1499), false);
  assert.equal(b.allow(1500), true);
  assert.equal(b.state, HALF_OPEN);
  assert.equal(b.allow(1501), true);
  assert.equal(b.allow(1502), false, 'only two probes');
  b.record(1510, 200);
  assert.equal(b.state, HALF_OPEN);
  b.record(1511, 200);
  assert.equal(b.state, CLOSED);
  assert.deepEqual(seen, [OPEN, HALF_OPEN, CLOSED]);
  // Closed with a clean window: old failures do not count again.
  b.record(1512, 503);
  assert.equal(b.state, CLOSED);
});

test('a failed probe opens it again for another open_ms', () => {
  const { b, seen } = make();
  for (let i = 0; i < 10; i++) b.record(1000, 503);
  assert.equal(b.allow(1500), true);
  b.record(1505, 0);
  assert.equal(b.state, OPEN);
  assert.equal(b.allow(1900), false);
  assert.equal(b.allow(2005), true);
  assert.deepEqual(seen, [OPEN, HALF_OPEN, OPEN, HALF_OPEN]);
});

test('probes whose outcome never comes back do not wedge it half-open', () => {
  const { b } = make();
  for (let i = 0; i < 10; i++) b.record(1000, 503);
  assert.equal(b.allow(1500), true);
  assert.equal(b.allow(1500), true);
  assert.equal(b.allow(1600), false);
  assert.equal(b.allow(2000), true, 'a new round of probes after another open_ms');
});
