import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { validateConfig } from '../../control/config/load.ts';

const errorsOf = (raw: unknown) => {
  const r = validateConfig(raw);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};
const target = (port: number) => ({ url: `tcp://127.0.0.1:${port}` });
const stream = (more: object = {}) => ({
  name: 'db',
  listen: '127.0.0.1:15432',
  upstream: { targets: [target(5432)] },
  ...more,
});

test("the issue's config is accepted as it is: a WebSocket service and a stream with least_connections", () => {
  const raw = parse(`
services:
  - name: chat
    routes: [{ paths: [/ws] }]
    upstream: { targets: [{ url: http://127.0.0.1:9001 }] }
streams:
  - name: cache
    listen: 127.0.0.1:16379
    upstream:
      balancer: least_connections
      targets: [{ url: tcp://127.0.0.1:6379 }, { url: tcp://127.0.0.1:6380 }]
`);
  const r = validateConfig(raw);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const cache = r.config.streams[0]!;
  assert.equal(cache.upstream?.balancer, 'least_connections');
  assert.equal(cache.timeouts.idle_ms, 600000);
  assert.equal(cache.proxy_protocol.send, 'off');
});

test('stream errors name the field', () => {
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: { targets: [{ url: 'http://127.0.0.1:1' }] } })] }), [
    '/streams/0/upstream/targets/0/url: must match pattern ' +
      '"^tcp://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$" (got "http://127.0.0.1:1")',
  ]);
  // A trailing slash is no port range problem: the pattern's error alone.
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: { targets: [{ url: 'tcp://127.0.0.1:1/' }] } })] }), [
    '/streams/0/upstream/targets/0/url: must match pattern ' +
      '"^tcp://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$" (got "tcp://127.0.0.1:1/")',
  ]);
  assert.deepEqual(
    errorsOf({
      services: [{ name: 'db', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: 'http://127.0.0.1:1' }] } }],
      streams: [stream(), stream({ listen: '127.0.0.1:8080' })],
    }),
    [
      '/streams/0/name: "db" is a service\'s name; metrics and events tell them apart by name',
      '/streams/1/name: "db" is already the name of streams/0',
      '/streams/1/name: "db" is a service\'s name; metrics and events tell them apart by name',
      '/streams/1/listen: 127.0.0.1:8080 is the address of proxy/listen (127.0.0.1:8080)',
    ],
  );
  // A terminating stream's TLS metrics go by its name, as a listener's do: no listener's, proxy's, or admin's
  // once the admin listener has TLS (then it is in those metrics too).
  const named = (admin: object) =>
    errorsOf({
      admin,
      listeners: [{ name: 'edge', listen: '127.0.0.1:18449' }],
      streams: ['edge', 'proxy', 'admin'].map((name, i) => stream({ name, listen: `127.0.0.1:${15433 + i}` })),
    }).filter((e) => e.startsWith('/streams/'));
  const clash = (name: string, i: number) =>
    `/streams/${i}/name: "${name}" is a listener's name; TLS metrics tell them apart by name`;
  assert.deepEqual(named({}), ['edge', 'proxy'].map(clash));
  const adminTls = { tls: { certificates: [{ cert: '/nowhere.pem', key: '/nowhere.key' }] } };
  assert.deepEqual(named(adminTls), ['edge', 'proxy', 'admin'].map(clash));
  assert.deepEqual(errorsOf({ streams: [{ name: 's', listen: '127.0.0.1:1' }] }), [
    '/streams/0/upstream: required (or sni routes, for TLS passthrough)',
  ]);
  assert.deepEqual(
    errorsOf({ streams: [stream({ upstream: { targets: [target(1), target(1), { url: 'tcp://h:70000' }] } })] }),
    [
      '/streams/0/upstream/targets/1/url: duplicate target tcp://127.0.0.1:1',
      '/streams/0/upstream/targets/2/url: port must be 1-65535',
    ],
  );
  assert.deepEqual(errorsOf({ streams: [stream({ proxy_protocol: { accept: true } })] }), [
    '/streams/0/proxy_protocol/accept: needs trusted_proxies: ' +
      'only a load balancer listed there may say who the client is',
  ]);
  assert.deepEqual(errorsOf({ streams: [stream({ acl: { deny: ['10.0.0.0/33'] } })] }).length, 1);
  const sni = (names: string[][]) =>
    names.map((server_names, i) => ({ name: `r${i}`, server_names, upstream: { targets: [target(443)] } }));
  assert.deepEqual(errorsOf({ streams: [stream({ sni: sni([['a.test'], ['A.test', '*.b.test']]) })] }), [
    '/streams/0/sni/1/server_names/0: A.test is already taken by sni route r0',
  ]);
  const tls = { targets: [target(1)], tls: { verify: false } };
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: tls })] }), []);
  const terminating = {
    certificates: [{ cert: '/nowhere.pem', key: '/nowhere.key' }],
    client_certificates: { ca: '/nowhere-ca.pem', forward_details: true },
  };
  const forwarded = errorsOf({ streams: [stream({ tls: terminating })] }).filter((e) => e.includes('forward'));
  assert.deepEqual(forwarded, [
    '/streams/0/tls/client_certificates/forward_details: a TCP stream has no HTTP headers to carry it',
  ]);
});

test('a stream upstream takes one of targets, dns and discovery; its Consul block has no scheme', () => {
  const etcd = { endpoints: ['http://127.0.0.1:2379'], prefix: '/tollgate/db/' };
  const consul = { address: 'http://127.0.0.1:8500', service: 'db' };
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: { discovery: { etcd } } })] }), []);
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: { discovery: { consul } } })] }), []);
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: { targets: [target(1)], discovery: { etcd } } })] }), [
    '/streams/0/upstream/discovery: use one of targets, dns and discovery, not targets and discovery',
  ]);
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: { discovery: { etcd, consul } } })] }), [
    '/streams/0/upstream/discovery: name exactly one registry: etcd or consul',
  ]);
  assert.deepEqual(errorsOf({ streams: [stream({ upstream: { discovery: {} } })] }), [
    '/streams/0/upstream/discovery: name exactly one registry: etcd or consul',
  ]);
  assert.deepEqual(
    errorsOf({ streams: [stream({ upstream: { discovery: { consul: { ...consul, scheme: 'https' } } } })] }),
    ['/streams/0/upstream/discovery/consul/scheme: unknown field'],
  );
});
