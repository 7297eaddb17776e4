import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { validateConfig } from '../control/config/load.ts';
import { DataPlane } from './data-plane.ts';
import { createGatewayMetrics } from '../metrics.ts';

const log = pino({ level: 'silent' });

function config(services: unknown[]) {
  const result = validateConfig({ proxy: { listen: '127.0.0.1:0' }, services }, {});
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.config;
}

const service = (name: string, upstream: Record<string, unknown>) => ({
  name,
  routes: [{ paths: [`/${name}`] }],
  upstream,
});

test(
  'apply keeps the pool (and its health state) of each upstream ' +
    'whose config is unchanged, in any key order, and replaces the rest',
  async (t) => {
    const a = {
      balancer: 'round_robin',
      targets: [{ url: 'http://127.0.0.1:9' }],
      health: { passive: { max_failures: 3 } },
    };
    const b = { targets: [{ url: 'http://127.0.0.1:10' }] };
    const c = { targets: [{ url: 'http://127.0.0.1:11' }] };
    const plane = new DataPlane(
      config([service('a', a), service('b', b), service('c', c)]),
      1,
      createGatewayMetrics(),
      log,
    );
    t.after(() => plane.close(0));
    const pool = (name: string) => plane.current.services.get(name)!.upstream;
    const before = { a: pool('a'), b: pool('b'), c: pool('c') };
    await plane.apply(
      config([
        service('a', {
          health: { passive: { max_failures: 3 } },
          targets: [{ url: 'http://127.0.0.1:9' }],
          balancer: 'round_robin',
        }),
        service('b', { targets: [{ url: 'http://127.0.0.1:10', weight: 2 }] }),
        service('c', c),
      ]),
      2,
    );
    assert.equal(pool('a'), before.a, 'a: same config, keys reordered');
    assert.notEqual(pool('b'), before.b, 'b: a target weight changed');
    assert.equal(pool('c'), before.c, 'c: same config');
    assert.equal(plane.current.version, 2);
  },
);

test(
  'a large apply runs in slices: the event loop gets turns, on the ' +
    'config that served before, until it resolves; applies run in order',
  async (t) => {
    const plane = new DataPlane(
      config([service('a', { targets: [{ url: 'http://127.0.0.1:9' }] })]),
      1,
      createGatewayMetrics(),
      log,
    );
    t.after(() => plane.close(0));
    const many = (n: number, port: number) =>
      config(Array.from({ length: n }, (_, i) => service(`s${i}`, { targets: [{ url: `http://127.0.0.1:${port}` }] })));
    const big = many(3000, 10);
    const after = many(3000, 11);
    const seen: number[] = [];
    let turning = true;
    const turn = () => {
      seen.push(plane.current.version);
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const first = plane.apply(big, 2);
    const second = plane.apply(after, 3);
    await first;
    const duringFirst = [...seen];
    assert.equal(plane.current.version, 2);
    await second;
    turning = false;
    assert.ok(
      duringFirst.filter((v) => v === 1).length >= 2,
      `turns while the first apply ran: ${duringFirst.length} (versions ${[...new Set(duringFirst)]})`,
    );
    assert.deepEqual(
      [...new Set(seen)],
      [1, 2],
      'turns saw the old config until the first apply resolved, then the first, never a half-applied one',
    );
    assert.equal(plane.current.version, 3);
    assert.equal(plane.current.services.size, 3000);
    assert.equal(plane.current.services.get('s0')!.upstream.config.targets[0]!.url, 'http://127.0.0.1:11');
  },
);

test(
  'close() during an apply lets it finish and closes ' + 'the pools it made; an apply after close() changes nothing',
  async () => {
    const plane = new DataPlane(
      config([service('a', { targets: [{ url: 'http://127.0.0.1:9' }] })]),
      1,
      createGatewayMetrics(),
      log,
    );
    const applied = plane.apply(
      config(
        Array.from({ length: 2000 }, (_, i) =>
          service(`s${i}`, {
            targets: [{ url: 'http://127.0.0.1:10' }],
            health: { active: { path: '/', interval_ms: 60_000 } },
          }),
        ),
      ),
      2,
    );
    const closed = plane.close(0);
    await applied;
    await closed;
    assert.equal(plane.current.version, 2);
    const pool = plane.current.services.get('s0')!.upstream;
    assert.equal(pool.isClosed, true, 'a pool the apply made was left open');
    await plane.apply(config([service('b', { targets: [{ url: 'http://127.0.0.1:9' }] })]), 3);
    assert.equal(plane.current.version, 2);
  },
);
