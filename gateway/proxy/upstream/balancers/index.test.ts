import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancerNames, balancers } from './index.ts';
import { available, makeTargets, request } from './test-fixtures.ts';

const ips = (i: number) => request(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

test('lists every registered balancer name exactly once', () => {
  assert.deepEqual([...balancerNames].sort(), Object.keys(balancers).sort());
  assert.equal(new Set(balancerNames).size, balancerNames.length);
});

for (const name of balancerNames) {
  const factory = balancers[name];

  test(`${name}: returns undefined when there are no targets`, () => {
    assert.equal(
      factory([], {}).pick(request(), () => true),
      undefined,
    );
  });

  test(`${name}: returns undefined when every target is ineligible`, () => {
    const targets = makeTargets(1, 2, 3);
    for (const t of targets) t.healthy = false;
    const balancer = factory(targets, {});
    for (let i = 0; i < 50; i++) assert.equal(balancer.pick(ips(i), available), undefined);
  });

  test(`${name}: never picks an ineligible target and still uses the others`, () => {
    const targets = makeTargets(1, 1, 1, 1);
    targets[1].healthy = false;
    targets[2].ejectedUntil = Date.now() + 60_000;
    const balancer = factory(targets, {});
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const picked = balancer.pick(ips(i), available);
      assert.ok(picked === targets[0] || picked === targets[3], `picked ${picked?.id}`);
      seen.add(targets.indexOf(picked));
    }
    assert.deepEqual([...seen].sort(), [0, 3]);
  });

  test(`${name}: uses a target again once it is eligible again`, () => {
    const targets = makeTargets(1, 1, 1);
    const balancer = factory(targets, {});
    targets[0].healthy = false;
    for (let i = 0; i < 300; i++) assert.notEqual(balancer.pick(ips(i), available), targets[0]);
    targets[0].healthy = true;
    let used = 0;
    for (let i = 0; i < 300; i++) if (balancer.pick(ips(i), available) === targets[0]) used++;
    assert.ok(used > 50, `target used ${used} times in 300 picks after coming back`);
  });

  test(`${name}: never picks a target of weight 0`, () => {
    const targets = makeTargets(0, 1, 1);
    const balancer = factory(targets, {});
    for (let i = 0; i < 300; i++) assert.notEqual(balancer.pick(ips(i), available), targets[0]);
  });

  test(`${name}: lets the caller exclude a target already tried by this request`, () => {
    const targets = makeTargets(1, 1);
    const balancer = factory(targets, {});
    for (let i = 0; i < 100; i++) {
      const first = balancer.pick(ips(i), available);
      assert.ok(first);
      const retry = balancer.pick(ips(i), (t) => t !== first && available(t));
      assert.ok(retry && retry !== first);
    }
  });
}
