import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../control/config/load.ts';

const svc = (upstream: Record<string, unknown>) => ({
  services: [
    { name: 's', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: 'http://127.0.0.1:1' }], ...upstream } },
  ],
});

test('upstream.breaker is off by default and every field has its documented default', () => {
  const r = validateConfig(svc({}), {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.config.services[0].upstream.breaker, {
    enabled: false,
    min_requests: 20,
    error_ratio: 0.5,
    window_ms: 10000,
    open_ms: 5000,
    half_open_probes: 3,
    failure_statuses: [500, 502, 503, 504],
  });
  assert.deepEqual(r.config.services[0].upstream.retry_budget, { ratio: 0.2, min_per_s: 10, window_ms: 10000 });
});

test('an out-of-range breaker or retry budget field is rejected with its path', () => {
  for (const [upstream, path] of [
    [{ breaker: { error_ratio: 0 } }, '/services/0/upstream/breaker/error_ratio'],
    [{ breaker: { error_ratio: 1.5 } }, '/services/0/upstream/breaker/error_ratio'],
    [{ breaker: { min_requests: 0 } }, '/services/0/upstream/breaker/min_requests'],
    [{ breaker: { half_open_probes: 0 } }, '/services/0/upstream/breaker/half_open_probes'],
    [{ breaker: { failure_statuses: [700] } }, '/services/0/upstream/breaker/failure_statuses/0'],
    [{ breaker: { enabled: true, bogus: 1 } }, '/services/0/upstream/breaker'],
    [{ retry_budget: { ratio: -1 } }, '/services/0/upstream/retry_budget/ratio'],
  ] as const) {
    const r = validateConfig(svc(upstream), {});
    assert.equal(r.ok, false, JSON.stringify(upstream));
    assert.ok(
      !r.ok && r.errors.some((e) => e.path.startsWith(path)),
      `${JSON.stringify(upstream)}: ${JSON.stringify(!r.ok && r.errors)}`,
    );
  }
});

test('health.passive.max_ejected_percent defaults to 50 and must be 0-100', () => {
  const r = validateConfig(svc({}), {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(r.config.services[0].upstream.health.passive.max_ejected_percent, 50);
  for (const bad of [-1, 101, 12.5]) {
    const v = validateConfig(svc({ health: { passive: { max_ejected_percent: bad } } }), {});
    assert.ok(
      !v.ok && v.errors.some((e) => e.path === '/services/0/upstream/health/passive/max_ejected_percent'),
      `${bad}: ${JSON.stringify(!v.ok && v.errors)}`,
    );
  }
});
