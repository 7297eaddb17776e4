import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roundRobin } from './round-robin.ts';
import { countPicks, makeTargets, pickLetters } from './test-fixtures.ts';

test('splits 3000 picks exactly 1000/2000 between weights 1 and 2', () => {
  const targets = makeTargets(1, 2);
  assert.deepEqual(countPicks(roundRobin(targets, {}), targets, 3000), [1000, 2000]);
});

test('serves a target of weight w w times in a row', () => {
  const targets = makeTargets(1, 3, 2);
  assert.equal(pickLetters(roundRobin(targets, {}), targets, 12), 'abbbccabbbcc');
});

test('cycles through equal targets in order', () => {
  const targets = makeTargets(1, 1, 1);
  assert.equal(pickLetters(roundRobin(targets, {}), targets, 7), 'abcabca');
});

test('skips an ineligible target and keeps the others cycling', () => {
  const targets = makeTargets(2, 2, 2);
  const balancer = roundRobin(targets, {});
  const withoutB = (t: unknown) => t !== targets[1];
  assert.equal(pickLetters(balancer, targets, 8, withoutB), 'aaccaacc');
});

test('takes an ineligible target back into the cycle when it returns', () => {
  const targets = makeTargets(1, 1, 1);
  const balancer = roundRobin(targets, {});
  assert.equal(
    pickLetters(balancer, targets, 4, (t) => t !== targets[1]),
    'acac',
  );
  assert.equal(pickLetters(balancer, targets, 6), 'abcabc');
});

test('rounds fractional weights but gives every positive weight a turn', () => {
  const targets = makeTargets(0.2, 2.4);
  assert.equal(pickLetters(roundRobin(targets, {}), targets, 6), 'abbabb');
});
