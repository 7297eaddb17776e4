import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { validateConfig } from './config/load.ts';
import { DataPlane } from './data-plane.ts';
import { createGatewayMetrics } from './metrics.ts';

const log = pino({ level: 'silent' });

function config(services: unknown[]) {
  const result = validateConfig({ proxy: { listen: '127.0.0.1:0' }, services }, {});
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.config;
}

const service = (name: string, upstream: Record<string, unknown>) => ({ name, routes: [{ paths: [`/${name}`] }], upstream });

test('apply keeps the pool (and its health state) of each upstream whose config is unchanged, in any key order, and replaces the rest', async (t) => {
  const a = { balancer: 'round_robin', targets: [{ url: 'http://127.0.0.1:9' }], health: { passive: { max_failures: 3 } } };
  const b = { targets: [{ url: 'http://127.0.0.1:10' }] };
  const c = { targets: [{ url: 'http://127.0.0.1:11' }] };
  const plane = new DataPlane(config([service('a', a), service('b', b), service('c', c)]), 1, createGatewayMetrics(), log);
  t.after(() => plane.close(0));
  const pool = (name: string) => plane.current.services.get(name)!.upstream;
  const before = { a: pool('a'), b: pool('b'), c: pool('c') };
  plane.apply(config([
    service('a', { health: { passive: { max_failures: 3 } }, targets: [{ url: 'http://127.0.0.1:9' }], balancer: 'round_robin' }),
    service('b', { targets: [{ url: 'http://127.0.0.1:10', weight: 2 }] }),
    service('c', c),
  ]), 2);
  assert.equal(pool('a'), before.a, 'a: same config, keys reordered');
  assert.notEqual(pool('b'), before.b, 'b: a target weight changed');
  assert.equal(pool('c'), before.c, 'c: same config');
  assert.equal(plane.current.version, 2);
});
