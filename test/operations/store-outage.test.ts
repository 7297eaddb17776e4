import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admin } from '../helpers/admin.ts';
import { eventually } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** tollgate_store_up by store, as the admin /metrics shows it (absent: not in the map). */
async function storesUp(gw: GatewayProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return Object.fromEntries(
    [...text.matchAll(/^tollgate_store_up\{store="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
}

const moreService = (url: string) => ({ routes: [{ paths: ['/more'] }], upstream: { targets: [{ url }] } });

/** Log lines about a store: `config store (redis) …` or `app store (redis) …`. */
const storeLines = (gw: GatewayProcess, store: 'config' | 'app') =>
  gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(`${store} store (redis)`));

// A gateway on the Redis store (a private redis-server this test kills and
// freezes). Before: an admin edit with Redis down waited out the command
// timeout and answered 500 GW_ERR_INTERNAL, and each store connection logged
// every failed reconnect (~8 lines a second).
test(
  'with its Redis store down or hung the gateway keeps proxying, admin writes get 503 ' +
    'GW_ERR_STORE_UNAVAILABLE within the command timeout, the outage ' +
    'is logged once per store, and edits work again once Redis is back',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const up = await startUpstream('up');
    t.after(() => up.close());
    const [proxyPort, adminPort] = [await freePort(), await freePort()];
    const file = writeYaml(tempDir(), 'tollgate.yaml', {
      proxy: { listen: `127.0.0.1:${proxyPort}` },
      admin: { listen: `127.0.0.1:${adminPort}` },
      store: { kind: 'redis', redis_url: redis.url, prefix: 'outage:' },
      events: { sink: 'none' },
      services: [{ name: 'api', routes: [{ paths: ['/api'] }], upstream: { targets: [{ url: up.url }] } }],
    });
    const gw = await startGatewayProcess(file);
    t.after(() => gw.stop());
    const proxied = async (path: string) => (await fetch(`${gw.proxyUrl}${path}`)).status;
    assert.equal(await proxied('/api'), 200);
    assert.deepEqual(await storesUp(gw), { config: 1, apps: 1 });

    await redis.stop();
    for (let i = 0; i < 5; i++) assert.equal(await proxied('/api'), 200, 'the proxy serves on while its store is down');
    const startedMs = performance.now();
    const put = await admin(gw, 'PUT', '/services/more', moreService(up.url));
    const tookMs = performance.now() - startedMs;
    assert.equal(put.status, 503, JSON.stringify(put.json));
    assert.equal(put.json.code, 'GW_ERR_STORE_UNAVAILABLE');
    assert.match(put.json.message, /config store did not confirm the save, so the change is not applied/);
    assert.ok(tookMs < 4000, `the edit took ${tookMs} ms (the store's command timeout is 2 s)`);
    const history = await admin(gw, 'GET', '/config/history');
    assert.equal(history.status, 503);
    assert.equal(history.json.code, 'GW_ERR_STORE_UNAVAILABLE');
    const app = await admin(gw, 'POST', '/apps', { name: 'during-outage' });
    assert.equal(app.status, 503, JSON.stringify(app.json));
    assert.equal(app.json.code, 'GW_ERR_STORE_UNAVAILABLE');
    assert.match(app.json.message, /app store did not confirm the save/);
    // What this node serves is read from memory.
    assert.equal((await admin(gw, 'GET', '/services/api')).status, 200);
    assert.equal(await proxied('/more'), 404, 'the refused edit is not served');
    // Reconnects go on failing (ioredis retries every 100 ms at first); each store says so once.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(storeLines(gw, 'config').length, 1, JSON.stringify(storeLines(gw, 'config')));
    assert.match(storeLines(gw, 'config')[0].msg, /config store \(redis\) failing/);
    assert.equal(storeLines(gw, 'app').length, 1, JSON.stringify(storeLines(gw, 'app')));
    assert.deepEqual(await storesUp(gw), { config: 0, apps: 0 }, 'tollgate_store_up');

    await redis.start();
    const back = await gw.waitForLog((l) => l.msg === 'config store (redis) answers again', 5000);
    assert.ok(back.errors > 1 && back.down_ms >= 2500, JSON.stringify(back));
    await gw.waitForLog((l) => l.msg === 'app store (redis) answers again', 5000);
    assert.deepEqual(await storesUp(gw), { config: 1, apps: 1 });
    const again = await admin(gw, 'PUT', '/services/more', moreService(up.url));
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.ok(
      await eventually(async () => (await proxied('/more')) === 200, 2000),
      'the edit made after the outage serves',
    );

    // Hung (SIGSTOP: connections open, nothing answers): the same 503, bounded by the command timeout.
    redis.freeze();
    const hungStartedMs = performance.now();
    const hung = await admin(gw, 'PUT', '/services/other', { ...moreService(up.url), routes: [{ paths: ['/other'] }] });
    const hungMs = performance.now() - hungStartedMs;
    assert.equal(hung.status, 503, JSON.stringify(hung.json));
    assert.equal(hung.json.code, 'GW_ERR_STORE_UNAVAILABLE');
    assert.ok(hungMs < 4000, `the edit took ${hungMs} ms against a hung Redis`);
    assert.equal(await proxied('/api'), 200);
    redis.thaw();
    // The hung Redis may have run the append after its reply timed out: the node then adopts that version (the 503's
    // message says so), and the same PUT again changes nothing. Either way it succeeds now and /other serves.
    const thawed = await admin(gw, 'PUT', '/services/other', {
      ...moreService(up.url),
      routes: [{ paths: ['/other'] }],
    });
    assert.equal(thawed.status, 200, JSON.stringify(thawed.json));
    assert.ok(
      await eventually(async () => (await proxied('/other')) === 200, 2000),
      'the edit made after the thaw serves',
    );
  },
);

// Before: the running nodes kept serving but left the store empty, so the
// next node to start seeded it from its own file and had no apps; and an app
// created after the loss answered 201 but was served by no node (the store
// then held that app alone).
test(
  'Redis restarted empty: the running gateway puts its config version and its ' +
    'apps back, an app created then is served, and a gateway started next serves the same',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const up = await startUpstream('up');
    t.after(() => up.close());
    const configOf = async () => ({
      proxy: { listen: `127.0.0.1:${await freePort()}` },
      admin: { listen: `127.0.0.1:${await freePort()}` },
      store: { kind: 'redis', redis_url: redis.url, prefix: 'restart:' },
      events: { sink: 'none' },
      services: [{ name: 'api', routes: [{ paths: ['/api'] }], upstream: { targets: [{ url: up.url }] } }],
    });
    const gw = await startGatewayProcess(writeYaml(tempDir(), 'tollgate.yaml', await configOf()));
    t.after(() => gw.stop());
    assert.equal((await admin(gw, 'PUT', '/services/more', moreService(up.url))).status, 200);
    const first = await admin(gw, 'POST', '/apps', { name: 'first' });
    assert.equal(first.status, 201, JSON.stringify(first.json));
    const served = await admin(gw, 'GET', '/config');
    assert.equal(served.json.version, 2);

    await redis.stop();
    await redis.start();
    const restored = await gw.waitForLog(
      (l) => /config store had lost its versions .*: stored the serving version again/.test(l.msg ?? ''),
      5000,
    );
    assert.equal(restored.version, 2, 'under its own number');
    await gw.waitForLog(
      (l) => /app store had lost its data .*: stored the served apps and keys again/.test(l.msg ?? ''),
      5000,
    );
    const second = await admin(gw, 'POST', '/apps', { name: 'second' });
    assert.equal(second.status, 201, JSON.stringify(second.json));
    const names = async (g: GatewayProcess) =>
      ((await admin(g, 'GET', '/apps')).json as { name: string }[]).map((a) => a.name).sort();
    assert.deepEqual(await names(gw), ['first', 'second'], 'the app created after the loss is served');
    const history = await admin(gw, 'GET', '/config/history');
    assert.deepEqual(
      history.json.map((v: { version: number }) => v.version),
      [2],
      'the serving version is back; the history before it is gone',
    );

    // A node started now (its file has neither /more nor any app) joins the cluster's config and apps; its own
    // addresses come from the environment, since the cluster's config names the first node's.
    const next = await startGatewayProcess(writeYaml(tempDir(), 'tollgate.yaml', await configOf()), {
      env: {
        TOLLGATE_PROXY_LISTEN: `127.0.0.1:${await freePort()}`,
        TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${await freePort()}`,
      },
    });
    t.after(() => next.stop());
    assert.equal((await admin(next, 'GET', '/config')).json.version, 2);
    assert.equal((await fetch(`${next.proxyUrl}/more`)).status, 200);
    assert.deepEqual(await names(next), ['first', 'second']);
  },
);
