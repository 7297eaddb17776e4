import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
let up: TestUpstream;

before(async () => {
  up = await startUpstream('echo');
  const target = { targets: [{ url: up.url }] };
  gw = await startGateway({
    services: [
      { name: 'strip', routes: [{ paths: ['/svc'], strip_prefix: true }], upstream: target },
      { name: 'keep', routes: [{ paths: ['/keep'] }], upstream: target },
      {
        name: 'rw',
        routes: [{ paths: ['/v1'], rewrite: { regex: '^/v1/(\\w+)/(\\d+)$', replacement: '/items/$2/$1' } }],
        upstream: target,
      },
      {
        name: 'both',
        routes: [{ paths: ['/both'], strip_prefix: true, rewrite: { regex: '^/old/(.*)$', replacement: '/new/$1' } }],
        upstream: target,
      },
      { name: 'norm', routes: [{ paths: ['=/api/x'] }], upstream: target },
    ],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

/** The path (with query) the upstream received, or the gateway's status when it answered itself. */
async function upstreamPath(path: string): Promise<string | number> {
  const res = await send(gw.url, path);
  if (res.status !== 200) return res.status;
  return res.json().url;
}

test('strip_prefix removes the matched prefix and keeps the query string', async () => {
  assert.equal(await upstreamPath('/svc/users?id=1&x=a%20b'), '/users?id=1&x=a%20b');
  assert.equal(await upstreamPath('/svc'), '/');
  assert.equal(await upstreamPath('/svc/'), '/');
  assert.equal(await upstreamPath('/svc?x=1'), '/?x=1');
});

test('without strip_prefix the path and query are sent as matched', async () => {
  assert.equal(await upstreamPath('/keep/a?b=c&b=d'), '/keep/a?b=c&b=d');
});

test('a regex rewrite substitutes groups and keeps the query string', async () => {
  assert.equal(await upstreamPath('/v1/users/42?x=1&y=2'), '/items/42/users?x=1&y=2');
  // Not matching the regex: the path goes unchanged.
  assert.equal(await upstreamPath('/v1/users/abc'), '/v1/users/abc');
});

test('strip_prefix runs before the regex rewrite', async () => {
  assert.equal(await upstreamPath('/both/old/a/b?q=1'), '/new/a/b?q=1');
});

test('the path is normalised before matching: dot segments, double slashes, encoded dots', async () => {
  for (const p of [
    '/api/x',
    '/api/./x',
    '//api//x',
    '/api/%2e/x',
    '/zzz/%2e%2e/api/x',
    '/zzz/%2E%2E/api/x',
    '/api/y/../x',
    '/%61pi/x',
    '/../../api/x',
  ]) {
    assert.equal(await upstreamPath(p), '/api/x', p);
  }
});

test('dot segments cannot climb out of a stripped prefix', async () => {
  // After normalisation these are /secret, which no route serves.
  assert.equal(await upstreamPath('/svc/../secret'), 404);
  assert.equal(await upstreamPath('/svc/%2e%2e/secret'), 404);
  assert.equal(up.seen.filter((s) => s.url.includes('secret')).length, 0);
});

test('the query string is never normalised', async () => {
  assert.equal(await upstreamPath('/svc/a?next=//x/../y&z=%2e%2e'), '/a?next=//x/../y&z=%2e%2e');
});

test('a path with bad percent-encoding or an encoded NUL gets 400 JSON and is not forwarded', async () => {
  const before = up.seen.length;
  for (const p of ['/api/%zz', '/api/%2', '/api/%00x']) {
    const res = await send(gw.url, p);
    assert.equal(res.status, 400, p);
    assert.equal(res.json().code, 'GW_ERR_PATH_INVALID');
  }
  assert.equal(up.seen.length, before);
});
