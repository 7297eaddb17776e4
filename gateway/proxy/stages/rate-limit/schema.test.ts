import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../control/config/load.ts';

const svc = (rate_limits: unknown, extra: Record<string, unknown> = {}) => ({
  ...extra,
  services: [
    {
      name: 's',
      routes: [
        { name: 'a', paths: ['/a'] },
        { name: 'b', paths: ['/b'] },
      ],
      upstream: { targets: [{ url: 'http://127.0.0.1:1' }] },
      rate_limits,
    },
  ],
});

test('a rate-limit policy and the store get the documented defaults', () => {
  const r = validateConfig(svc([{ name: 'p', qps: 5 }]), {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.config.services[0].rate_limits![0], {
    name: 'p',
    qps: 5,
    key: 'service',
    routes: [],
    time_zone: 'UTC',
    backend: 'local',
    on_redis_error: 'open',
  });
  assert.deepEqual(r.config.rate_limit, {
    redis_url: 'redis://127.0.0.1:6379',
    prefix: 'tollgate:rl:',
    timeout_ms: 8,
    insurance_fraction: 1,
    max_keys: 100000,
  });
});

test('a policy keyed by app may leave its numbers to the app records', () => {
  const r = validateConfig(svc([{ name: 'apps', key: 'app' }]), {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
});

test('invalid rate limits are rejected whole, naming the path', () => {
  for (const [limits, path, extra] of [
    [[{ name: 'p' }], '/services/0/rate_limits/0'],
    [
      [
        { name: 'p', qps: 1 },
        { name: 'p', qpd: 1 },
      ],
      '/services/0/rate_limits/1/name',
    ],
    [[{ name: 'p', qps: 10, burst: 5 }], '/services/0/rate_limits/0/burst'],
    [[{ name: 'p', qpd: 10, burst: 5 }], '/services/0/rate_limits/0/burst'],
    [[{ name: 'p', qps: 1, routes: ['a', 'nope'] }], '/services/0/rate_limits/0/routes/1'],
    [[{ name: 'p', qpd: 1, time_zone: 'Mars/Olympus' }], '/services/0/rate_limits/0/time_zone'],
    [[{ name: 'p', qps: 0 }], '/services/0/rate_limits/0/qps'],
    [[{ name: 'p', qps: 1.5 }], '/services/0/rate_limits/0/qps'],
    [[{ name: 'p', qps: 1, key: 'header' }], '/services/0/rate_limits/0/key'],
    [[{ name: 'p', qps: 1, backend: 'memcached' }], '/services/0/rate_limits/0/backend'],
    [[{ name: 'p', qps: 1, on_redis_error: 'maybe' }], '/services/0/rate_limits/0/on_redis_error'],
    [[{ name: 'p', qps: 1, extra: true }], '/services/0/rate_limits/0/extra'],
    [[{ name: 'p', qps: 1, ipv6_prefix: 64 }], '/services/0/rate_limits/0/ipv6_prefix'],
    [[{ name: 'p', qps: 1, key: 'client_ip', ipv6_prefix: 0 }], '/services/0/rate_limits/0/ipv6_prefix'],
    [[{ name: 'p', qps: 1, key: 'client_ip', ipv6_prefix: 129 }], '/services/0/rate_limits/0/ipv6_prefix'],
    [[{ name: 'p', qps: 1 }], '/rate_limit/insurance_fraction', { rate_limit: { insurance_fraction: 0 } }],
    [[{ name: 'p', qps: 1 }], '/rate_limit/timeout_ms', { rate_limit: { timeout_ms: 0 } }],
  ] as [unknown, string, Record<string, unknown>?][]) {
    const r = validateConfig(svc(limits, extra), {});
    assert.equal(r.ok, false, `${JSON.stringify(limits)} should be invalid`);
    assert.ok(
      !r.ok && r.errors.some((e) => e.path === path),
      `${JSON.stringify(limits)}: expected an error at ${path}, got ${JSON.stringify(!r.ok && r.errors)}`,
    );
  }
});
