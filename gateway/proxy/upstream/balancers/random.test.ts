import assert from 'node:assert/strict';
import { test } from 'node:test';
import { random } from './random.ts';
import { countPicks, makeTargets } from './test-fixtures.ts';

// 40,000 picks at p = 0.25: standard deviation ≈ 87, so ±600 is about 7σ.
test('picks targets in proportion to weight', () => {
  const targets = makeTargets(1, 3);
  const [a, b] = countPicks(random(targets, {}), targets, 40_000);
  assert.ok(Math.abs(a - 10_000) < 600, `weight 1 picked ${a} times`);
  assert.ok(Math.abs(b - 30_000) < 600, `weight 3 picked ${b} times`);
});

test('gives three targets shares of 1/6, 2/6 and 3/6 for weights 1, 2, 3', () => {
  const targets = makeTargets(1, 2, 3);
  const counts = countPicks(random(targets, {}), targets, 60_000);
  const expected = [10_000, 20_000, 30_000];
  counts.forEach((c, i) => assert.ok(Math.abs(c - expected[i]) < 800, `weight ${i + 1} picked ${c} times`));
});

test('spreads the share of an ineligible target over the others by weight', () => {
  const targets = makeTargets(1, 5, 3);
  const [a, b, c] = countPicks(random(targets, {}), targets, 40_000, (t) => t !== targets[1]);
  assert.equal(b, 0);
  assert.ok(Math.abs(a - 10_000) < 600, `weight 1 picked ${a} times`);
  assert.ok(Math.abs(c - 30_000) < 600, `weight 3 picked ${c} times`);
});

test('picks the only eligible target every time', () => {
  const targets = makeTargets(1, 1, 1);
  assert.deepEqual(
    countPicks(random(targets, {}), targets, 500, (t) => t === targets[2]),
    [0, 0, 500],
  );
});
