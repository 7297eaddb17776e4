import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countPicks, makeTargets, pickLetters } from './test-fixtures.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

test("gives nginx's documented sequence a a b a c a a for weights 5, 1, 1", () => {
  const targets = makeTargets(5, 1, 1);
  assert.equal(pickLetters(weightedRoundRobin(targets, {}), targets, 14), 'aabacaa'.repeat(2));
});

test('splits 7000 picks exactly by weights 5, 1, 1', () => {
  const targets = makeTargets(5, 1, 1);
  assert.deepEqual(countPicks(weightedRoundRobin(targets, {}), targets, 7000), [5000, 1000, 1000]);
});

test('interleaves weights 2 and 1 instead of serving a block', () => {
  const targets = makeTargets(1, 2);
  assert.equal(pickLetters(weightedRoundRobin(targets, {}), targets, 6), 'babbab');
});

test('skips an ineligible target without letting it gain weight, as nginx does', () => {
  const targets = makeTargets(5, 1, 1);
  const balancer = weightedRoundRobin(targets, {});
  // Without a, b and c alternate; a comes back from where it left off (current weight 0).
  assert.equal(
    pickLetters(balancer, targets, 4, (t) => t !== targets[0]),
    'bcbc',
  );
  assert.equal(pickLetters(balancer, targets, 7), 'aabacaa');
});

test('returns a target again once it becomes eligible', () => {
  const targets = makeTargets(1, 1);
  const balancer = weightedRoundRobin(targets, {});
  assert.equal(
    pickLetters(balancer, targets, 3, (t) => t !== targets[1]),
    'aaa',
  );
  assert.equal(pickLetters(balancer, targets, 4), 'abab');
});
