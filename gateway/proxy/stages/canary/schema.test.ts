import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../control/config/load.ts';

const up = (port: number) => ({ targets: [{ url: `http://127.0.0.1:${port}` }] });
const svc = (canary: unknown) => ({ services: [{ name: 's', routes: [{ paths: ['/'] }], upstream: up(1), canary }] });

test('a canary with one group gets the documented defaults', () => {
  const r = validateConfig(svc({ groups: [{ name: 'canary', weight: 10, upstream: up(2) }] }), {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const c = r.config.services[0].canary!;
  assert.equal(c.stable_weight, 100);
  assert.deepEqual(c.sticky, { source: 'none' });
  assert.deepEqual(c.force_header, { name: 'x-canary', value: 'always' });
  // The group's upstream is a full upstream with its own defaults (breaker included).
  assert.equal(c.groups[0].upstream.balancer, 'round_robin');
  assert.equal(c.groups[0].upstream.breaker.enabled, false);
});

test('invalid canary configs are rejected whole, naming the path', () => {
  for (const [canary, path] of [
    [{ groups: [] }, '/services/0/canary/groups'],
    [{ groups: [{ name: 'stable', weight: 1, upstream: up(2) }] }, '/services/0/canary/groups/0/name'],
    [
      {
        groups: [
          { name: 'a', weight: 1, upstream: up(2) },
          { name: 'a', weight: 1, upstream: up(3) },
        ],
      },
      '/services/0/canary/groups/1/name',
    ],
    [{ groups: [{ name: 'a', weight: 1, upstream: {} }] }, '/services/0/canary/groups/0/upstream/targets'],
    [{ stable_weight: 0, groups: [{ name: 'a', weight: 0, upstream: up(2) }] }, '/services/0/canary/stable_weight'],
    [{ sticky: { source: 'cookie' }, groups: [{ name: 'a', upstream: up(2) }] }, '/services/0/canary/sticky/name'],
    [{ sticky: { source: 'ip' }, groups: [{ name: 'a', upstream: up(2) }] }, '/services/0/canary/sticky/source'],
    [
      { force_header: { group: 'nope' }, groups: [{ name: 'a', upstream: up(2) }] },
      '/services/0/canary/force_header/group',
    ],
    [{ groups: [{ name: 'a', weight: -1, upstream: up(2) }] }, '/services/0/canary/groups/0/weight'],
    [
      {
        groups: [
          { name: 'a', upstream: { targets: [{ url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:2/x' }] } },
        ],
      },
      '/services/0/canary/groups/0/upstream/targets/1/url',
    ],
    [
      { groups: [{ name: 'a', upstream: { ...up(2), pool: { keep_alive_ms: 5000, keep_alive_max_ms: 4000 } } }] },
      '/services/0/canary/groups/0/upstream/pool/keep_alive_max_ms',
    ],
  ] as const) {
    const r = validateConfig(svc(canary), {});
    assert.equal(r.ok, false, JSON.stringify(canary));
    assert.ok(
      !r.ok && r.errors.some((e) => e.path.startsWith(path)),
      `${JSON.stringify(canary)}: ${JSON.stringify(!r.ok && r.errors)}`,
    );
  }
});
