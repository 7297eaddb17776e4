import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupSelector } from './select.ts';

function shares(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => c / total);
}

test('the weighted split without a sticky key is exact over 10,000 requests', () => {
  const s = new GroupSelector([90, 10]);
  const counts = [0, 0];
  for (let i = 0; i < 10000; i++) counts[s.next()]++;
  assert.deepEqual(counts, [9000, 1000]);
});

test('three groups with uneven weights split within 2% over 10,000 requests', () => {
  const s = new GroupSelector([70, 25, 5]);
  const counts = [0, 0, 0];
  for (let i = 0; i < 10000; i++) counts[s.next()]++;
  const got = shares(counts);
  [0.7, 0.25, 0.05].forEach((want, i) => assert.ok(Math.abs(got[i] - want) <= 0.02, `group ${i}: ${got[i]}`));
});

test('10,000 distinct sticky keys split within 2% of the weights', () => {
  for (const weights of [
    [90, 10],
    [50, 50],
    [80, 15, 5],
  ]) {
    const s = new GroupSelector(weights);
    const counts = weights.map(() => 0);
    for (let i = 0; i < 10000; i++) counts[s.byKey(`app-${i}`)]++;
    const got = shares(counts);
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => assert.ok(Math.abs(got[i] - w / total) <= 0.02, `${weights}: group ${i} got ${got[i]}`));
  }
});

test('a sticky key always lands in the same group', () => {
  const s = new GroupSelector([50, 50]);
  for (let i = 0; i < 200; i++) {
    const first = s.byKey(`session-${i}`);
    for (let j = 0; j < 5; j++) assert.equal(s.byKey(`session-${i}`), first);
  }
});

test('raising the canary weight moves clients from stable into the canary, never out of it', () => {
  const before = new GroupSelector([90, 10]);
  const after = new GroupSelector([70, 30]);
  for (let i = 0; i < 5000; i++) {
    if (before.byKey(`k${i}`) === 1) assert.equal(after.byKey(`k${i}`), 1);
  }
});

test('a weight-0 group gets nothing unforced', () => {
  const s = new GroupSelector([100, 0]);
  for (let i = 0; i < 1000; i++) {
    assert.equal(s.next(), 0);
    assert.equal(s.byKey(`k${i}`), 0);
  }
});
