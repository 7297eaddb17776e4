import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipHash } from './ip-hash.ts';
import { everyTarget, makeTargets, request } from './test-fixtures.ts';

const ipv4 = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

test('sends the same IP to the same target while the targets are unchanged', () => {
  const targets = makeTargets(1, 1, 1);
  const balancer = ipHash(targets, {});
  const rebuilt = ipHash([...targets].reverse(), {});
  for (let i = 0; i < 1000; i++) {
    const owner = balancer.pick(request(ipv4(i)), everyTarget);
    assert.equal(balancer.pick(request(ipv4(i)), everyTarget), owner);
    assert.equal(rebuilt.pick(request(ipv4(i)), everyTarget), owner, 'config order does not matter');
  }
});

test('treats ::ffff:1.2.3.4 as 1.2.3.4', () => {
  const targets = makeTargets(1, 1, 1, 1, 1);
  const balancer = ipHash(targets, {});
  for (let i = 0; i < 500; i++) {
    const owner = balancer.pick(request(ipv4(i)), everyTarget);
    assert.equal(balancer.pick(request(`::ffff:${ipv4(i)}`), everyTarget), owner);
    assert.equal(balancer.pick(request(`::FFFF:${ipv4(i)}`), everyTarget), owner);
  }
});

test('spreads IPv6 clients over every target', () => {
  const targets = makeTargets(1, 1, 1, 1);
  const balancer = ipHash(targets, {});
  const used = new Set(
    Array.from({ length: 200 }, (_, i) => balancer.pick(request(`2001:db8::${i.toString(16)}`), everyTarget)),
  );
  assert.equal(used.size, 4);
});

test('gives each target a share of clients in proportion to its weight', () => {
  const targets = makeTargets(1, 3);
  const counts = [0, 0];
  const balancer = ipHash(targets, {});
  for (let i = 0; i < 20_000; i++) counts[targets.indexOf(balancer.pick(request(ipv4(i)), everyTarget)!)]++;
  assert.ok(Math.abs(counts[0] - 5000) < 500, `weight 1 got ${counts[0]} of 20000 clients`);
});

test('rehashes the clients of an ineligible target over the others and gives them back when it returns', () => {
  const targets = makeTargets(1, 1, 1, 1);
  const balancer = ipHash(targets, {});
  const down = (t: unknown) => t !== targets[0];
  const standIns = new Set();
  for (let i = 0; i < 2000; i++) {
    const req = request(ipv4(i));
    const owner = balancer.pick(req, everyTarget);
    const during = balancer.pick(req, down);
    assert.notEqual(during, targets[0]);
    if (owner !== targets[0]) {
      assert.equal(during, owner, 'clients of healthy targets stay put');
    } else {
      standIns.add(during);
      assert.equal(balancer.pick(req, down), during, 'the stand-in is sticky');
    }
    assert.equal(balancer.pick(req, everyTarget), owner);
  }
  assert.equal(standIns.size, 3, "a down target's clients spread over all the others");
});
