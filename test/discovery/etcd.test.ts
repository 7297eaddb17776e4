// Targets from a real etcd (a test's own, test/helpers/etcd.ts): the config as it is written; a key adds a
// target within a second, its deletion removes it, its value re-weights it; a value that is not a target is shown,
// not used; an etcd killed or hung leaves the last targets serving (stale, counted) and a restart is followed; a
// gateway started with etcd down serves once it comes; health checks still apply; a reload keeps the targets.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEtcd, etcdSkip, type TestEtcd } from '../helpers/etcd.ts';
import { eventually, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

const skip = etcdSkip;
let etcd: TestEtcd;
let a: TestUpstream;
let b: TestUpstream;
let gw: TestGateway;

const shop = (endpoint: string, extra: Record<string, unknown> = {}) => ({
  name: 'shop',
  routes: [{ paths: ['/shop'] }],
  upstream: {
    discovery: { etcd: { endpoints: [endpoint], prefix: '/tollgate/shop/', probe_ms: 500, timeout_ms: 500 } },
    ...extra,
  },
});

before(async () => {
  if (skip) return;
  etcd = await startEtcd();
  a = await startUpstream('a');
  b = await startUpstream('b');
  gw = await startGateway({ services: [shop(etcd.url)] });
});
after(async () => {
  await gw?.close();
  await etcd?.close();
  await a?.close();
  await b?.close();
});

/** Who answered n requests to /shop, by upstream name (status for a refusal). */
async function answers(n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${gw.url}/shop/x`);
    const who = res.status === 200 ? ((await res.json()) as { name: string }).name : String(res.status);
    if (res.status !== 200) await res.arrayBuffer();
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}

type Discovery = { source: string; state: string; targets: number; skipped: { entry: string; reason: string }[] };
async function health(): Promise<{ targets: { id: string; weight: number }[]; discovery: Discovery }> {
  const all = (await (await fetch(`${gw.adminUrl}/health`)).json()) as Array<{ service: string }>;
  return all.find((h) => h.service === 'shop') as never;
}

/** Waits (1 s at most) until /shop is served by exactly `names`, and says how long it took. */
async function within1s(names: string[]): Promise<number> {
  const started = Date.now();
  const ok = await eventually(async () => {
    const ids = (await health()).targets.map((t) => t.id).sort();
    return ids.join() === names.sort().join();
  }, 1000);
  assert.ok(ok, `targets ${names.join(', ')} within a second; have ${JSON.stringify((await health()).targets)}`);
  return Date.now() - started;
}

test("the issue's key adds its target, weight 2, within a second; its deletion removes it", { skip }, async () => {
  assert.equal((await fetch(`${gw.url}/shop/x`)).status, 503, 'no key yet: no target');
  await etcd.put('/tollgate/shop/a', JSON.stringify({ url: a.url, weight: 2 }));
  await within1s([a.url]);
  assert.deepEqual(await answers(4), { a: 4 });
  const h = await health();
  assert.equal(h.targets[0].weight, 2);
  assert.equal(h.discovery.source, 'etcd');
  assert.equal(h.discovery.state, 'synced');

  await etcd.put('/tollgate/shop/b', JSON.stringify({ address: '127.0.0.1', port: b.port, metadata: { zone: 'z' } }));
  await within1s([a.url, b.url]);
  const both = await answers(30);
  assert.equal(both.a, 20, 'weights 2 : 1');
  assert.equal(both.b, 10);

  await etcd.put('/tollgate/shop/b', JSON.stringify({ url: b.url, weight: 2 }));
  await eventually(async () => (await health()).targets.every((t) => t.weight === 2), 1000);
  const even = await answers(20);
  assert.deepEqual(even, { a: 10, b: 10 }, 're-weighted to 2 : 2');

  await etcd.del('/tollgate/shop/a');
  await within1s([b.url]);
  assert.deepEqual(await answers(4), { b: 4 });
  assert.equal(await metric(gw, 'tollgate_discovery_targets', 'service="shop",group="",source="etcd"'), 1);
});

test('a value that is not a target is listed with why, and the others keep serving', { skip }, async () => {
  await etcd.put('/tollgate/shop/bad', '{"url": "ftp://x:1"}');
  await etcd.put('/tollgate/shop/worse', 'not json');
  // An address is free text in etcd: one with a path made a target every request sent to was a 500.
  await etcd.put('/tollgate/shop/with-path', JSON.stringify({ address: '127.0.0.1/x', port: b.port }));
  const h = await eventually(async () => {
    const got = await health();
    return got.discovery.skipped.length === 3 ? got : undefined;
  }, 1000);
  assert.ok(h);
  assert.deepEqual(
    h.discovery.skipped.map((s) => s.entry),
    ['/tollgate/shop/bad', '/tollgate/shop/with-path', '/tollgate/shop/worse'],
  );
  assert.match(h.discovery.skipped[0].reason, /http:\/\/ or https:\/\//);
  assert.match(h.discovery.skipped[1].reason, /^address "127.0.0.1\/x" is not a host name or an IP address/);
  assert.equal(h.discovery.skipped[2].reason, 'not JSON');
  assert.deepEqual(await answers(6), { b: 6 });
  for (const key of ['bad', 'worse', 'with-path']) await etcd.del(`/tollgate/shop/${key}`);
});

test('etcd killed: the last targets serve, stale and counted; restarted: followed again', { skip }, async () => {
  await etcd.kill();
  const stale = await eventually(async () => (await health()).discovery.state === 'stale', 3000);
  assert.ok(stale, 'the outage is noticed');
  assert.equal(await metric(gw, 'tollgate_discovery_stale', 'service="shop",group="",source="etcd"'), 1);
  assert.deepEqual(await answers(10), { b: 10 }, 'no request fails because the registry is gone');
  await etcd.restart();
  await eventually(async () => (await health()).discovery.state === 'synced', 8000);
  assert.equal((await health()).discovery.state, 'synced');
  assert.equal(await metric(gw, 'tollgate_discovery_stale', 'service="shop",group="",source="etcd"'), 0);
  await etcd.put('/tollgate/shop/a', JSON.stringify({ url: a.url }));
  await within1s([a.url, b.url]);
});

test('etcd hung (no answer, connection open): noticed by the probe; the targets serve throughout', {
  skip,
}, async () => {
  etcd.pause();
  try {
    const stale = await eventually(async () => (await health()).discovery.state === 'stale', 3000);
    assert.ok(stale, 'a hung registry is noticed within probe_ms + timeout_ms');
    const seen = await answers(10);
    assert.equal((seen.a ?? 0) + (seen.b ?? 0), 10);
  } finally {
    etcd.resume();
  }
  await eventually(async () => (await health()).discovery.state === 'synced', 8000);
  assert.equal((await health()).discovery.state, 'synced');
});

test('active health checks apply to discovered targets', { skip }, async () => {
  let healthy = true;
  const c = await startUpstream('c', undefined, { healthy: () => healthy });
  try {
    gw.writeConfig({
      services: [
        shop(etcd.url, {
          health: { active: { path: '/healthz', interval_ms: 100, unhealthy_threshold: 1, healthy_threshold: 1 } },
        }),
      ],
    });
    await etcd.del('/tollgate/shop/a');
    await etcd.del('/tollgate/shop/b');
    await etcd.put('/tollgate/shop/c', JSON.stringify({ url: c.url }));
    await etcd.put('/tollgate/shop/b', JSON.stringify({ url: b.url }));
    await within1s([b.url, c.url]);
    healthy = false;
    await eventually(async () => {
      const t = (await health()).targets.find((x) => x.id === c.url) as { healthy?: boolean } | undefined;
      return t?.healthy === false;
    }, 3000);
    assert.deepEqual(await answers(6), { b: 6 }, 'the unhealthy discovered target gets nothing');
  } finally {
    await c.close();
  }
});

test('a reload that keeps the registry keeps its targets: no request waits for the new watch', { skip }, async () => {
  const before = (await health()).targets.map((t) => t.id).sort();
  let failed = 0;
  let done = false;
  const load = (async () => {
    while (!done) {
      const res = await fetch(`${gw.url}/shop/x`);
      await res.arrayBuffer();
      if (res.status !== 200) failed++;
    }
  })();
  // A change elsewhere in the upstream makes new pools; the registry block is the same.
  gw.writeConfig({ services: [shop(etcd.url, { retries: 2 })] });
  await sleep(800);
  done = true;
  await load;
  assert.equal(failed, 0);
  assert.deepEqual((await health()).targets.map((t) => t.id).sort(), before);
});

test('a gateway started with etcd down serves as soon as etcd comes', { skip }, async () => {
  await etcd.kill();
  const late = await startGateway({ services: [shop(etcd.url)] });
  try {
    assert.equal((await fetch(`${late.url}/shop/x`)).status, 503, 'no target known yet');
    await etcd.restart();
    const served = await eventually(async () => (await fetch(`${late.url}/shop/x`)).status === 200, 8000);
    assert.ok(served, 'the targets arrived once etcd answered');
  } finally {
    await late.close();
  }
});
