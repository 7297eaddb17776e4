import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../control/config/load.ts';
import { reachesListener } from './self-targets.ts';

const config = (url: string, more: Record<string, unknown> = {}) => ({
  proxy: { listen: '127.0.0.1:8080' },
  admin: { listen: '127.0.0.1:9000' },
  services: [{ name: 's', routes: [{ paths: ['/'] }], upstream: { targets: [{ url }] } }],
  ...more,
});

function errorsOf(raw: Record<string, unknown>): { path: string; message: string }[] {
  const r = validateConfig(raw, {});
  return r.ok ? [] : r.errors;
}

test("a target that is the gateway's own proxy or admin listener is refused, naming the field and the listener", () => {
  for (const [url, own] of [
    ['http://127.0.0.1:8080', 'proxy/listen'],
    ['http://localhost:8080', 'proxy/listen'],
    ['http://127.0.0.1:9000', 'admin/listen'],
  ]) {
    const errors = errorsOf(config(url));
    assert.equal(errors.length, 1, `${url}: ${JSON.stringify(errors)}`);
    assert.equal(errors[0].path, '/services/0/upstream/targets/0/url');
    assert.match(errors[0].message, new RegExp(`own ${own} .*loop`));
  }
});

test('another port, another loopback address, or a listener on port 0 is no loop', () => {
  for (const url of ['http://127.0.0.1:8081', 'http://127.0.0.2:8080', 'http://10.1.2.3:8080']) {
    assert.deepEqual(errorsOf(config(url)), [], url);
  }
  const anyPort = { proxy: { listen: '127.0.0.1:0' }, admin: { listen: '127.0.0.1:0' } };
  assert.deepEqual(errorsOf(config('http://127.0.0.1:80', anyPort)), []);
});

test("canary groups, streams and a stream's SNI routes are checked too", () => {
  const canary = config('http://127.0.0.1:7000');
  (canary.services as Record<string, unknown>[])[0].canary = {
    groups: [{ name: 'c', weight: 10, upstream: { targets: [{ url: 'http://127.0.0.1:8080' }] } }],
  };
  assert.deepEqual(
    errorsOf(canary).map((e) => e.path),
    ['/services/0/canary/groups/0/upstream/targets/0/url'],
  );
  const streams = config('http://127.0.0.1:7000', {
    streams: [
      { name: 'db', listen: '0.0.0.0:5432', upstream: { targets: [{ url: 'tcp://127.0.0.1:5432' }] } },
      {
        name: 'tls',
        listen: '127.0.0.1:8443',
        sni: [
          { name: 'a', server_names: ['a.example.test'], upstream: { targets: [{ url: 'tcp://127.0.0.1:8080' }] } },
        ],
      },
    ],
  });
  assert.deepEqual(
    errorsOf(streams).map((e) => e.path),
    ['/streams/0/upstream/targets/0/url', '/streams/1/sni/0/upstream/targets/0/url'],
  );
});

test('which target URLs reach which listen addresses', () => {
  const cases: [string, string, boolean][] = [
    ['http://127.0.0.1:8080', '127.0.0.1:8080', true],
    ['http://127.0.0.1', '127.0.0.1:80', true],
    ['https://127.0.0.1', '127.0.0.1:443', true],
    ['https://127.0.0.1', '127.0.0.1:80', false],
    ['http://LOCALHOST:8080', '127.0.0.1:8080', true],
    ['http://localhost:8080', '[::1]:8080', true],
    ['http://[::1]:8080', '[::1]:8080', true],
    ['http://127.0.0.1:8080', '0.0.0.0:8080', true],
    ['http://[::1]:8080', '0.0.0.0:8080', false],
    ['http://[::1]:8080', '[::]:8080', true],
    ['http://127.0.0.1:8080', '[::]:8080', true],
    ['http://192.0.2.1:8080', '0.0.0.0:8080', false],
    ['http://127.0.0.1:8080', '127.0.0.2:8080', false],
    ['not a url', '127.0.0.1:8080', false],
  ];
  for (const [url, listen, expected] of cases)
    assert.equal(reachesListener(url, listen), expected, `${url} → ${listen}`);
});
