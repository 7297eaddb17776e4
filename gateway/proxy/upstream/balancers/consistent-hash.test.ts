import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer, BalanceRequest } from '../balancer.ts';
import type { Target } from '../target.ts';
import { consistentHash } from './consistent-hash.ts';
import { everyTarget, makeTargets, request } from './test-fixtures.ts';

const KEYS = 10_000;
const byKey = (i: number) => request('127.0.0.1', { 'x-user': `user-${i}` });
const hashOnUser = { hashOn: { source: 'header', name: 'X-User' } } as const;

function assignment(balancer: Balancer, eligible: (t: Target) => boolean = everyTarget): (Target | undefined)[] {
  return Array.from({ length: KEYS }, (_, i) => balancer.pick(byKey(i), eligible));
}

test('sends the same key to the same target every time', () => {
  const targets = makeTargets(1, 1, 1, 1);
  const balancer = consistentHash(targets, hashOnUser);
  const first = assignment(balancer);
  assert.deepEqual(assignment(balancer), first);
  assert.deepEqual(assignment(consistentHash(targets, hashOnUser)), first, 'a rebuilt ring agrees');
  assert.deepEqual(
    assignment(consistentHash([...targets].reverse(), hashOnUser)),
    first,
    'config order does not matter',
  );
});

test('moves about a fifth of the keys, all to the new target, when a fifth target joins four', () => {
  const five = makeTargets(1, 1, 1, 1, 1);
  const before = assignment(consistentHash(five.slice(0, 4), hashOnUser));
  const after = assignment(consistentHash(five, hashOnUser));
  let moved = 0;
  for (let i = 0; i < KEYS; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    assert.equal(after[i], five[4], `key ${i} moved between two unchanged targets`);
  }
  assert.ok(moved / KEYS >= 0.15 && moved / KEYS <= 0.25, `moved fraction ${moved / KEYS}`);
});

test('moves only the keys of a removed target', () => {
  const targets = makeTargets(1, 1, 1, 1, 1);
  const before = assignment(consistentHash(targets, hashOnUser));
  const after = assignment(
    consistentHash(
      targets.filter((t) => t !== targets[2]),
      hashOnUser,
    ),
  );
  for (let i = 0; i < KEYS; i++) if (before[i] !== targets[2]) assert.equal(after[i], before[i]);
});

test('shares keys in proportion to weight', () => {
  const targets = makeTargets(1, 1, 2);
  const counts = [0, 0, 0];
  for (const t of assignment(consistentHash(targets, hashOnUser))) counts[targets.indexOf(t!)]++;
  const expected = [2500, 2500, 5000];
  counts.forEach((c, i) => assert.ok(Math.abs(c - expected[i]) < 600, `target ${i} got ${c} of ${KEYS} keys`));
});

test('walks on to the next target while the owner is ineligible and returns the key when it is back', () => {
  const targets = makeTargets(1, 1, 1, 1);
  const balancer = consistentHash(targets, hashOnUser);
  const before = assignment(balancer);
  const during = assignment(balancer, (t) => t !== targets[0]);
  for (let i = 0; i < KEYS; i++) {
    assert.notEqual(during[i], targets[0]);
    if (before[i] !== targets[0]) assert.equal(during[i], before[i], 'other keys stay put');
  }
  const standIns = new Set(during.filter((_, i) => before[i] === targets[0]));
  assert.ok(standIns.size > 1, "an ineligible target's keys spread over its ring neighbours");
  assert.deepEqual(assignment(balancer), before);
});

function sticky(
  options: Parameters<typeof consistentHash>[1],
  same: BalanceRequest[],
  spread: (i: number) => BalanceRequest,
) {
  const targets = makeTargets(1, 1, 1, 1);
  const balancer = consistentHash(targets, options);
  const owner = balancer.pick(same[0], everyTarget);
  for (const req of same) assert.equal(balancer.pick(req, everyTarget), owner, JSON.stringify(req));
  const used = new Set(Array.from({ length: 200 }, (_, i) => balancer.pick(spread(i), everyTarget)));
  assert.equal(used.size, 4, 'different keys reach every target');
}

test('hashes on a cookie, wherever it sits in the Cookie header', () => {
  const options = { hashOn: { source: 'cookie', name: 'sid' } } as const;
  sticky(
    options,
    [
      request('10.0.0.1', { cookie: 'sid=abc' }),
      request('10.0.0.2', { cookie: 'theme=dark; sid=abc' }),
      request('10.0.0.3', { cookie: 'xsid=zzz;sid=abc; lang=en' }),
    ],
    (i) => request('10.0.0.1', { cookie: `sid=s${i}` }),
  );
});

test('hashes on the path', () => {
  sticky(
    { hashOn: { source: 'path' } },
    [request('10.0.0.1', {}, '/a/b'), request('10.0.0.2', {}, '/a/b', 'x=1')],
    (i) => request('10.0.0.1', {}, `/p/${i}`),
  );
});

test('hashes on a query argument', () => {
  const options = { hashOn: { source: 'query', name: 'id' } } as const;
  sticky(options, [request('10.0.0.1', {}, '/', 'id=42'), request('10.0.0.2', {}, '/x', 'pid=7&id=42&z=1')], (i) =>
    request('10.0.0.1', {}, '/', `id=${i}`),
  );
});

test('hashes on the client IP by default, treating ::ffff:a.b.c.d as a.b.c.d', () => {
  sticky({}, [request('192.0.2.7', { 'x-user': 'a' }), request('::ffff:192.0.2.7', { 'x-user': 'b' })], (i) =>
    request(`192.0.2.${i}`),
  );
});

test('falls back to the client IP when the key is missing', () => {
  const targets = makeTargets(1, 1, 1, 1);
  for (const hashOn of [
    { source: 'header', name: 'x-user' },
    { source: 'cookie', name: 'sid' },
    { source: 'query', name: 'id' },
  ] as const) {
    const keyed = consistentHash(targets, { hashOn });
    const byIp = consistentHash(targets, {});
    for (let i = 0; i < 100; i++) {
      const req = request(`198.51.100.${i}`, { cookie: 'other=1' }, '/', 'idx=1');
      assert.equal(keyed.pick(req, everyTarget), byIp.pick(req, everyTarget), `${hashOn.source} ${i}`);
    }
  }
});
