import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';
import { createLogger } from '../../../log.ts';
import { createGatewayMetrics } from '../../../metrics.ts';
import { createRuntime } from '../../runtime.ts';
import { generateSigningKey } from '../../../control/apps/keys.ts';
import { identityFromWire } from '../../../control/apps/identity.ts';
import type { App } from '../../../control/apps/types.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import type { RequestContext } from '../../context.ts';
import { issueToken } from '../token-endpoint/issue.ts';
import { authenticate } from './index.ts';

/** The stage on its own: a runtime with one app and one gateway key, a route of a `jwt` service, a minimal context. */
async function setup() {
  const r = validateConfig({
    services: [
      {
        name: 'api',
        routes: [{ paths: ['/'] }],
        upstream: { targets: [{ url: 'http://127.0.0.1:9' }] },
        auth: { type: 'jwt' },
      },
    ],
  });
  assert.ok(r.ok);
  const config = r.config!;
  const runtime = createRuntime(createGatewayMetrics(), createLogger('silent'));
  const key = await generateSigningKey('ES256', Date.now());
  const now = Date.now();
  const app: App = {
    id: 'app1',
    name: 'a',
    status: 'enabled',
    secrets: [],
    allowedIps: [],
    roles: [],
    createdAt: now,
    updatedAt: now,
  };
  runtime.identity = identityFromWire({
    version: 1,
    apps: [app],
    publicKeys: [key.publicJwk],
    signingKey: { kid: key.kid, alg: key.alg, privateJwk: key.privateJwk },
  });
  const route = {
    name: 'api-0',
    config: config.services[0].routes[0],
    snapshotConfig: config,
    service: { name: 'api', config: config.services[0] },
    runtime,
  } as unknown as CompiledRoute;
  const handler = authenticate.init(route)!;
  const token = await issueToken(runtime, runtime.identity.signingKey!, config.tokens, 'app1');
  const replies: string[] = [];
  // A fresh flat header string per request, as the HTTP parser hands them over (so its hash is not cached yet).
  const ctx = (): RequestContext =>
    ({
      headers: { authorization: Buffer.from(`Bearer ${token}`).toString('latin1') },
      path: '/x',
      route,
      appId: '',
      app: undefined,
      reply(code: string) {
        replies.push(code);
        return false;
      },
    }) as unknown as RequestContext;
  return { runtime, handler, ctx, replies, app, key };
}

test('a repeat token is answered synchronously from the cache in microseconds', async () => {
  const { handler, ctx, replies } = await setup();
  const first = ctx();
  const miss = handler(first);
  assert.ok(miss instanceof Promise, 'the first sight of a token verifies asynchronously');
  assert.equal(await miss, undefined);
  assert.equal(first.appId, 'app1');
  const c = ctx();
  assert.equal(handler(c), undefined, 'a hit returns undefined at once: no promise');
  assert.equal(c.appId, 'app1');
  assert.equal(c.headers['x-tollgate-app-id'], 'app1');
  const n = 100_000;
  for (let i = 0; i < 20_000; i++) handler(ctx());
  const contexts = Array.from({ length: n }, ctx);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) handler(contexts[i]);
  const perCallUs = Number(process.hrtime.bigint() - t0) / n / 1000;
  console.log(`# cache hit: ${perCallUs.toFixed(3)} µs per request (${n} requests, fresh header strings)`);
  assert.deepEqual(replies, []);
  assert.ok(perCallUs < 20, `${perCallUs} µs`);
});

test(
  'a cached token of an app disabled or deleted since ' + 'is refused on the next request, without re-verifying',
  async () => {
    const { runtime, handler, ctx, replies, app, key } = await setup();
    await handler(ctx());
    runtime.identity = identityFromWire({
      version: 2,
      apps: [{ ...app, status: 'disabled' }],
      publicKeys: [key.publicJwk],
    });
    assert.equal(handler(ctx()), false);
    assert.deepEqual(replies, ['GW_ERR_APP_DISABLED']);
    runtime.identity = identityFromWire({ version: 3, apps: [], publicKeys: [key.publicJwk] });
    assert.equal(handler(ctx()), false);
    assert.deepEqual(replies, ['GW_ERR_APP_DISABLED', 'GW_ERR_TOKEN_INVALID']);
    runtime.identity = identityFromWire({ version: 4, apps: [app], publicKeys: [] });
    assert.equal(handler(ctx()), false, 'the key that signed it is gone');
    assert.equal(replies.at(-1), 'GW_ERR_TOKEN_INVALID');
  },
);

test('a header that ends like a cached token but differs before is verified, not answered from the cache', async () => {
  const { handler, ctx, replies } = await setup();
  const good = ctx();
  await handler(good);
  assert.equal(good.appId, 'app1');
  // The same signature (so the same cache key) under a payload edited by one character.
  const authz = good.headers.authorization as string;
  const dot = authz.indexOf('.') + 5;
  const forged = ctx();
  forged.headers.authorization = authz.slice(0, dot) + (authz[dot] === 'A' ? 'B' : 'A') + authz.slice(dot + 1);
  assert.equal(forged.headers.authorization.slice(-32), authz.slice(-32));
  const result = handler(forged);
  assert.ok(result instanceof Promise, 'a key match with another header goes to verification');
  assert.equal(await result, false);
  assert.deepEqual(replies, ['GW_ERR_TOKEN_INVALID']);
  assert.equal(handler(ctx()), undefined, 'the good token is still answered synchronously');
});
