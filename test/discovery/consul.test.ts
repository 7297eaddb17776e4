// Targets from a real Consul agent (a test's own, test/helpers/consul.ts): the config as it is written; the
// passing instances of the service are the targets, within a second of a change (blocking queries); a failing check
// takes one out; Weights.Passing or a Meta key weighs them; a tag picks a canary group's instances; the agent killed
// leaves the last targets serving (stale), and its return is followed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { consulSkip, startConsul, type TestConsul } from '../helpers/consul.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

const skip = consulSkip;
let consul: TestConsul;
let a: TestUpstream;
let b: TestUpstream;
let gw: TestGateway;

const billing = (address: string, consulExtra: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: 'billing',
  routes: [{ paths: ['/billing'] }],
  upstream: { discovery: { consul: { address, service: 'billing', wait_s: 5, ...consulExtra } } },
  ...extra,
});

before(async () => {
  if (skip) return;
  consul = await startConsul('billing');
  a = await startUpstream('a');
  b = await startUpstream('b');
  gw = await startGateway({ services: [billing(consul.url)] });
});
after(async () => {
  await gw?.close();
  await consul?.close();
  await a?.close();
  await b?.close();
});

async function answers(n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${gw.url}/billing/x`, { headers });
    const who = res.status === 200 ? ((await res.json()) as { name: string }).name : String(res.status);
    if (res.status !== 200) await res.arrayBuffer();
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}

type Health = { service: string; targets: { id: string; weight: number }[]; discovery: { state: string } };
async function health(service = 'billing'): Promise<Health> {
  const all = (await (await fetch(`${gw.adminUrl}/health`)).json()) as Health[];
  return all.find((h) => h.service === service)!;
}

async function within1s(ids: string[], service = 'billing'): Promise<void> {
  const want = [...ids].sort().join();
  const ok = await eventually(
    async () =>
      (await health(service)).targets
        .map((t) => t.id)
        .sort()
        .join() === want,
    1000,
  );
  assert.ok(ok, `${service}: targets ${want} within a second; have ${JSON.stringify((await health(service)).targets)}`);
}

test('passing instances are the targets, within a second of each change', { skip }, async () => {
  await consul.register('a', a.port);
  await within1s([a.url]);
  assert.deepEqual(await answers(3), { a: 3 });
  assert.equal((await health()).discovery.state, 'synced');
  await consul.register('b', b.port, { weight: 3 });
  await within1s([a.url, b.url]);
  assert.deepEqual(await answers(8), { a: 2, b: 6 }, 'Weights.Passing 1 : 3');

  await consul.setPassing('b', false);
  await within1s([a.url]);
  assert.deepEqual(await answers(3), { a: 3 }, 'a failing check takes the instance out');
  await consul.setPassing('b', true);
  await within1s([a.url, b.url]);
  await consul.deregister('a');
  await within1s([b.url]);
  assert.deepEqual(await answers(3), { b: 3 });
});

test('a Meta key weighs the targets, and a tag picks the instances of a canary group', { skip }, async () => {
  await consul.register('a', a.port, { tags: ['canary'], meta: { weight: '4' } });
  await consul.register('b', b.port, { tags: ['stable'], meta: { weight: '1' } });
  gw.writeConfig({
    services: [
      billing(
        consul.url,
        { tag: 'stable', weight_meta: 'weight' },
        {
          canary: {
            groups: [
              {
                name: 'next',
                upstream: {
                  discovery: {
                    consul: { address: consul.url, service: 'billing', tag: 'canary', weight_meta: 'weight' },
                  },
                },
              },
            ],
          },
        },
      ),
    ],
  });
  await within1s([b.url]);
  await within1s([a.url], 'billing/next');
  assert.equal((await health('billing/next')).targets[0].weight, 4);
  assert.deepEqual(await answers(3), { b: 3 });
  assert.deepEqual(await answers(3, { 'x-canary': 'always' }), { a: 3 });
  gw.writeConfig({ services: [billing(consul.url)] });
  await within1s([a.url, b.url]);
});

test('the agent killed: the last targets serve, stale; back: followed again', { skip }, async () => {
  await consul.kill();
  assert.ok(await eventually(async () => (await health()).discovery.state === 'stale', 3000));
  assert.equal(await metric(gw, 'tollgate_discovery_stale', 'service="billing",group="",source="consul"'), 1);
  const served = await answers(6);
  assert.equal((served.a ?? 0) + (served.b ?? 0), 6, 'no request fails because the registry is gone');
  await consul.restart();
  // A -dev agent keeps nothing: the instances register again, as they would with a real agent's config files.
  await consul.register('b', b.port);
  await eventually(async () => (await health()).discovery.state === 'synced', 10_000);
  await within1s([b.url]);
});

test('a gateway started with the agent down serves once it answers; a re-registration re-weighs', {
  skip,
}, async () => {
  await consul.kill();
  const late = await startGateway({ services: [billing(consul.url)] });
  try {
    assert.equal((await fetch(`${late.url}/billing/x`)).status, 503, 'no target known yet');
    await consul.restart();
    await consul.register('a', a.port, { weight: 1 });
    assert.ok(await eventually(async () => (await fetch(`${late.url}/billing/x`)).status === 200, 10_000));
    await consul.register('a', a.port, { weight: 7 });
    const weighed = await eventually(async () => {
      const all = (await (await fetch(`${late.adminUrl}/health`)).json()) as Health[];
      return all.find((h) => h.service === 'billing')?.targets[0]?.weight === 7;
    }, 2000);
    assert.ok(weighed, 'the new weight within a blocking query');
  } finally {
    await late.close();
  }
});
