import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetsOfHealth } from './consul.ts';
import { prefixRangeEnd, targetOfValue } from './etcd.ts';
import { RegistrySource } from './registry.ts';
import { type DiscoveredTarget, notAHost } from './source.ts';

test('an etcd value is a target by url or by address and port, or says why not', () => {
  assert.deepEqual(targetOfValue('{"url": "http://127.0.0.1:9001", "weight": 2}'), {
    origin: 'http://127.0.0.1:9001',
    weight: 2,
  });
  assert.deepEqual(targetOfValue('{"address": "::1", "port": 8443, "scheme": "https"}'), {
    origin: 'https://[::1]:8443',
    weight: 1,
  });
  assert.equal(targetOfValue('nope'), 'not JSON');
  assert.equal(targetOfValue('[1]'), 'needs url, or address and port');
  assert.equal(targetOfValue('{"url": "http://a:1", "weight": 0}'), 'weight must be an integer 1..1000');
  assert.equal(targetOfValue('{"url": "http://a:1/x"}'), 'url must be an origin (no path)');
  assert.equal(targetOfValue('{"url": "https://a:1"}', ['http']), 'url must be http://');
  assert.equal(targetOfValue('{"address": "a", "port": 70000}'), 'port must be 1..65535');
  assert.equal(targetOfValue('{"url": "http://a:0"}'), 'port must be 1..65535');
  assert.match(targetOfValue('{"url": "http://u:p@a:1"}') as string, /^credentials in a target URL are not sent/);
  // An address is a host alone: a path, a query, credentials or a port in it would make another origin.
  for (const address of ['10.0.0.7/x', '10.0.0.7?q', 'u@10.0.0.7', '10.0.0.7:81', '[::1', 'a b', 'a..b'])
    assert.match(
      targetOfValue(JSON.stringify({ address, port: 80 })) as string,
      /is not a host name or an IP address/,
      address,
    );
  assert.deepEqual(targetOfValue('{"address": "api.internal.", "port": 80}'), {
    origin: 'http://api.internal.:80',
    weight: 1,
  });
});

test("a stream's etcd value is a tcp:// target: by url with its port, or by address and port", () => {
  const tcp = ['tcp'];
  assert.deepEqual(targetOfValue('{"url": "tcp://10.0.0.7:6379"}', tcp), { origin: 'tcp://10.0.0.7:6379', weight: 1 });
  assert.deepEqual(targetOfValue('{"url": "tcp://[::1]:6379"}', tcp), { origin: 'tcp://[::1]:6379', weight: 1 });
  assert.deepEqual(targetOfValue('{"address": "::1", "port": 6380, "weight": 3}', tcp), {
    origin: 'tcp://[::1]:6380',
    weight: 3,
  });
  assert.equal(targetOfValue('{"url": "tcp://10.0.0.7"}', tcp), 'url needs a port');
  assert.equal(targetOfValue('{"url": "http://10.0.0.7:80"}', tcp), 'url must be tcp://');
  assert.equal(targetOfValue('{"address": "a", "port": 1, "scheme": "http"}', tcp), 'scheme must be tcp');
});

test("a prefix's range end is the prefix with its last byte incremented", () => {
  assert.equal(prefixRangeEnd('/tollgate/shop/').toString(), '/tollgate/shop0');
  assert.equal(prefixRangeEnd('a').toString(), 'b');
});

test("Consul's passing instances: service address or node's, Weights.Passing or a Meta weight, sorted", () => {
  const entries = [
    { Node: { Address: '10.0.0.2' }, Service: { ID: 'b', Port: 80, Weights: { Passing: 3 }, Meta: { w: '7' } } },
    { Node: { Address: '10.0.0.9' }, Service: { ID: 'a', Address: '10.0.0.1', Port: 80, Meta: { w: 'x' } } },
    { Node: { Address: '10.0.0.3' }, Service: { ID: 'c' } },
    { Node: { Address: '10.0.0.4' }, Service: { ID: 'd', Port: 65536 } },
    { Node: { Address: '10.0.0.5' }, Service: { ID: 'e', Address: '10.0.0.5/admin', Port: 80 } },
  ];
  assert.deepEqual(targetsOfHealth(entries, {}), {
    targets: [
      { origin: 'http://10.0.0.1:80', weight: 1 },
      { origin: 'http://10.0.0.2:80', weight: 3 },
    ],
    skipped: [
      { entry: 'c', reason: 'no address or port' },
      { entry: 'd', reason: 'no address or port' },
      { entry: 'e', reason: notAHost('10.0.0.5/admin') },
    ],
  });
  const byMeta = targetsOfHealth(entries, { weightMeta: 'w', scheme: 'https' }).targets;
  assert.deepEqual(byMeta, [
    { origin: 'https://10.0.0.1:80', weight: 1 },
    { origin: 'https://10.0.0.2:80', weight: 7 },
  ]);
});

test('a failed session keeps the last list, goes stale, retries with backoff and syncs again', async () => {
  const lists: DiscoveredTarget[][] = [];
  const states: boolean[] = [];
  let sessions = 0;
  const one = [{ origin: 'http://a:1', weight: 1 }];
  const source = new RegistrySource(
    'etcd',
    async (emit, signal) => {
      sessions++;
      if (sessions === 2) throw new Error('registry down');
      emit(one);
      if (sessions === 1) throw new Error('connection reset');
      await new Promise((r) => signal.addEventListener('abort', r));
    },
    { onState: (stale) => states.push(stale) },
  );
  source.start((l) => lists.push(l));
  const deadline = Date.now() + 3000;
  while (sessions < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sessions, 3);
  assert.deepEqual(lists, [one], 'the same list is passed on once, and never an empty one on failure');
  assert.ok(states.includes(true), 'stale while failing');
  assert.equal(states.at(-1), false);
  assert.equal(source.status().state, 'synced');
  source.stop();
});

test("issue 36's config is accepted as it is written; two registries, or one beside targets, are not", async () => {
  const { loadConfigText } = await import('../../../control/config/load.ts');
  const issue = `
services:
  - name: shop
    routes: [{ paths: [/shop] }]
    upstream:
      discovery:
        etcd: { endpoints: [http://127.0.0.1:2379], prefix: /tollgate/shop/ }
  - name: billing
    routes: [{ paths: [/billing] }]
    upstream:
      discovery:
        consul: { address: http://127.0.0.1:8500, service: billing }
`;
  const ok = loadConfigText('issue.yaml', issue, {});
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.errors));
  const both = loadConfigText(
    'both.yaml',
    issue.replace(
      'prefix: /tollgate/shop/ }',
      'prefix: /t/ }\n        consul: { address: http://127.0.0.1:8500, service: shop }',
    ),
    {},
  );
  assert.ok(!both.ok);
  assert.deepEqual(
    both.errors.map((e) => e.path),
    ['/services/0/upstream/discovery'],
  );
  const beside = loadConfigText(
    'beside.yaml',
    issue.replace(
      '      discovery:\n        etcd',
      '      targets: [{ url: http://127.0.0.1:9001 }]\n      discovery:\n        etcd',
    ),
    {},
  );
  assert.ok(!beside.ok);
  assert.match(beside.errors[0].message, /use one of targets, dns and discovery/);
});
