import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leastConnections } from './least-connections.ts';
import { countPicks, everyTarget, makeTargets, pickLetters, request } from './test-fixtures.ts';

test('picks the idle target over busy ones', () => {
  const targets = makeTargets(1, 1, 1);
  targets[0].active = 4;
  targets[2].active = 1;
  const balancer = leastConnections(targets, {});
  for (let i = 0; i < 5; i++) assert.equal(balancer.pick(request(), everyTarget), targets[1]);
});

test('compares requests in flight per unit of weight', () => {
  const targets = makeTargets(1, 4);
  targets[0].active = 2; // 2 per unit
  targets[1].active = 6; // 1.5 per unit
  assert.equal(leastConnections(targets, {}).pick(request(), everyTarget), targets[1]);
});

test('takes turns among equally loaded targets', () => {
  const targets = makeTargets(1, 1, 1);
  assert.equal(pickLetters(leastConnections(targets, {}), targets, 6), 'abcabc');
  assert.deepEqual(countPicks(leastConnections(targets, {}), targets, 3000), [1000, 1000, 1000]);
});

test('shares load by weight when requests stay in flight', () => {
  const targets = makeTargets(1, 3);
  const balancer = leastConnections(targets, {});
  for (let i = 0; i < 400; i++) balancer.pick(request(), everyTarget)!.active++;
  assert.deepEqual(
    targets.map((t) => t.active),
    [100, 300],
  );
});

test('skips the least loaded target when it is ineligible', () => {
  const targets = makeTargets(1, 1, 1);
  targets[1].active = 3;
  targets[2].active = 5;
  const balancer = leastConnections(targets, {});
  assert.equal(
    balancer.pick(request(), (t) => t !== targets[0]),
    targets[1],
  );
});
