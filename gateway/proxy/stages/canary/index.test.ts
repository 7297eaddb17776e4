import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { RequestContext } from '../../context.ts';
import { createGatewayMetrics } from '../../../metrics.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import { canary } from './index.ts';

type Conf = NonNullable<CompiledRoute['service']['config']['canary']>;

/** The real stage over a route whose groups' pools are stand-ins: the stage only hands the chosen pool on. */
function stage(conf: Partial<Conf>, weights: number[]) {
  const names = ['stable', 'beta', 'gamma'].slice(0, weights.length);
  // A pool's group is '' for the service's own upstream (gateway/proxy/upstream/upstreams-of.ts).
  const pools = names.map((name, i) => ({ name, group: i === 0 ? '' : name }));
  const metrics = createGatewayMetrics(new Registry());
  const full: Conf = {
    stable_weight: weights[0],
    sticky: { source: 'none' },
    force_header: { name: 'x-canary', value: 'always' },
    groups: [],
    ...conf,
  } as Conf;
  const route = {
    service: {
      name: 'svc',
      config: { canary: full },
      groups: names.map((name, i) => ({ name, weight: weights[i], upstream: pools[i] })),
    },
    runtime: { metrics },
  } as unknown as CompiledRoute;
  const handler = canary.init(route)!;
  const pick = (ctx: { appId?: string; headers?: Record<string, string | string[]> }): string => {
    const c = { headers: {}, appId: '', upstream: undefined, ...ctx } as RequestContext;
    assert.equal(handler(c), undefined, 'the stage always continues');
    return (c.upstream as unknown as { name: string }).name;
  };
  return { pick, metrics };
}

test('a route without a canary gets no stage', () => {
  const route = { service: { name: 'svc', config: {}, groups: [] } } as unknown as CompiledRoute;
  assert.equal(canary.init(route), undefined);
});

test('10,000 requests through the stage split 80/15/5 within 2%, and are counted per group', async () => {
  const { pick, metrics } = stage({}, [80, 15, 5]);
  const counts: Record<string, number> = { stable: 0, beta: 0, gamma: 0 };
  for (let i = 0; i < 10000; i++) counts[pick({})]++;
  assert.ok(Math.abs(counts.stable / 10000 - 0.8) <= 0.02, JSON.stringify(counts));
  assert.ok(Math.abs(counts.beta / 10000 - 0.15) <= 0.02, JSON.stringify(counts));
  assert.ok(Math.abs(counts.gamma / 10000 - 0.05) <= 0.02, JSON.stringify(counts));
  const text = await metrics.register.metrics();
  assert.match(text, /tollgate_canary_requests_total\{service="svc",group=""\} 8000/);
  assert.match(text, /tollgate_canary_requests_total\{service="svc",group="beta"\} 1500/);
});

test('sticky per app: one app always lands in one group, and 10,000 apps split 90/10 within 2%', () => {
  const { pick } = stage({ sticky: { source: 'app' } }, [90, 10]);
  let beta = 0;
  for (let i = 0; i < 10000; i++) {
    const appId = `app-${i}`;
    const g = pick({ appId });
    if (i < 100) for (let j = 0; j < 3; j++) assert.equal(pick({ appId }), g);
    if (g === 'beta') beta++;
  }
  assert.ok(Math.abs(beta / 10000 - 0.1) <= 0.02, `beta ${beta}`);
});

test('an anonymous request on an app-sticky canary falls back to the weighted split', () => {
  const { pick } = stage({ sticky: { source: 'app' } }, [50, 50]);
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) seen.add(pick({ appId: '' }));
  assert.deepEqual([...seen].sort(), ['beta', 'stable']);
});

test('a sticky cookie is found among other cookies; a missing cookie falls back to the split', () => {
  const { pick } = stage({ sticky: { source: 'cookie', name: 'sid' } }, [50, 50]);
  const a = pick({ headers: { cookie: 'xsid=1; sid=abc; theme=dark' } });
  for (let i = 0; i < 5; i++) assert.equal(pick({ headers: { cookie: `theme=${i}; sid=abc` } }), a);
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) seen.add(pick({ headers: { cookie: 'theme=dark' } }));
  assert.equal(seen.size, 2);
});

test('the force header wins over stickiness', () => {
  const { pick } = stage({ sticky: { source: 'app' } }, [100, 0]);
  assert.equal(pick({ appId: 'a1' }), 'stable');
  assert.equal(pick({ appId: 'a1', headers: { 'x-canary': 'always' } }), 'beta');
  assert.equal(pick({ appId: 'a1', headers: { 'x-canary': ['beta', 'x'] } }), 'beta');
});

test('force_header.apps: only the apps listed may force a group; [] lets none', () => {
  const { pick } = stage({ force_header: { name: 'x-canary', value: 'always', apps: ['qa'] } }, [100, 0]);
  assert.equal(pick({ appId: 'qa', headers: { 'x-canary': 'always' } }), 'beta');
  assert.equal(pick({ appId: 'other', headers: { 'x-canary': 'always' } }), 'stable', 'another app is split');
  assert.equal(pick({ headers: { 'x-canary': 'beta' } }), 'stable', 'so is an anonymous request');
  const none = stage({ force_header: { name: 'x-canary', value: 'always', apps: [] } }, [100, 0]);
  assert.equal(none.pick({ appId: 'qa', headers: { 'x-canary': 'always' } }), 'stable');
});
