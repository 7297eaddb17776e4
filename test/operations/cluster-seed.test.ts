import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { initialVersion } from '../../gateway/control/file-history.ts';
import { RedisConfigStore } from '../../gateway/control/store/redis.ts';
import type { ConfigStore } from '../../gateway/control/types.ts';
import { DirInUseError, lockDir } from '../../gateway/process/dir-lock.ts';
import { NO_EVENTS, service, startGateway } from '../helpers/gateway.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { adminClient } from './admin.ts';

/**
 * Regression: two nodes starting at the same time on an empty Redis config
 * store each found no head and each stored its own file, so the cluster began
 * with two "first" versions and the node that stored first served its own
 * file until it heard of the other's. The file now seeds the store only while
 * the store is still empty (compare-and-set on version 0); the node that
 * loses adopts the winner's version. Each test has a private redis-server.
 */

const fileOf = (name: string) => {
  const raw = {
    log: { level: 'silent' },
    services: [service(name, ['http://127.0.0.1:9'], [{ paths: [`/${name}`] }])],
  };
  return { raw, text: JSON.stringify(raw) };
};

/** Holds every head() until `n` callers have read it: all of them see the store as it was before anyone appended. */
function barrier(n: number) {
  let waiting = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return (store: RedisConfigStore): ConfigStore => ({
    async head() {
      const h = await store.head();
      if (++waiting === n) open();
      await opened;
      return h;
    },
    get: (v) => store.get(v),
    list: (l) => store.list(l),
    append: (v, b) => store.append(v, b),
    watch: (f) => store.watch(f),
    close: () => store.close(),
  });
}

const serviceNames = (config: Record<string, unknown>) =>
  (config.services as Array<{ name: string }>).map((s) => s.name);

test('two nodes that both find the Redis store empty store one first version; the other adopts it', async (t) => {
  const redis = await startPrivateRedis(t);
  if (!redis) return;
  const prefix = `tollgate-test-${randomUUID()}:`;
  const stores = [new RedisConfigStore({ url: redis.url, prefix }), new RedisConfigStore({ url: redis.url, prefix })];
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const held = barrier(2);
  const [a, b] = await Promise.all([
    initialVersion(fileOf('a'), held(stores[0]), true),
    initialVersion(fileOf('b'), held(stores[1]), true),
  ]);

  assert.equal(a.version.version, 1);
  assert.equal(b.version.version, 1, 'both start on version 1');
  assert.deepEqual(serviceNames(a.version.config), serviceNames(b.version.config), 'with the same config');
  assert.deepEqual([a.reused, b.reused].sort(), [false, true], 'one stored its file, the other adopted it');
  const history = await stores[0].list(10);
  assert.deepEqual(
    history.map((v) => v.version),
    [1],
    'the store holds one version',
  );
});

test('two gateways started at once on an empty Redis store serve the same first version', async (t) => {
  const redis = await startPrivateRedis(t);
  if (!redis) return;
  const prefix = `tollgate-test-${randomUUID()}:`;
  const start = (name: string) =>
    startGateway({
      store: { kind: 'redis', redis_url: redis.url, prefix },
      events: NO_EVENTS,
      services: [service(name, ['http://127.0.0.1:9'], [{ paths: [`/${name}`] }])],
    });
  // Both starts are waited for, failed or not, so a node that started is closed even when the other did not.
  const started = await Promise.allSettled([start('a'), start('b')]);
  t.after(() => Promise.all(started.map((s) => s.status === 'fulfilled' && s.value.close())));
  const [a, b] = started.map((s) => {
    if (s.status === 'rejected') throw s.reason;
    return s.value;
  });

  assert.equal(a.manager.current().version, 1);
  assert.equal(b.manager.current().version, 1);
  assert.deepEqual(serviceNames(a.manager.current().config), serviceNames(b.manager.current().config));
  const history = (await adminClient(a.adminUrl).history()).json() as Array<{ version: number }>;
  assert.deepEqual(
    history.map((v) => v.version),
    [1],
  );
});

/** A node's config on a private Redis store of its own (undefined where redis-server is not installed). */
async function clusterConfig(t: TestContext) {
  const redis = await startPrivateRedis(t);
  if (!redis) return undefined;
  return {
    store: { kind: 'redis', redis_url: redis.url, prefix: `tollgate-test-${randomUUID()}:` },
    services: [service('api', ['http://127.0.0.1:9'], [{ paths: ['/api'] }])],
  };
}

// Regression: a joining node locked its own file's events.dir but ran with the cluster's, so two gateways on one
// host wrote one event log and one aggregate store unchecked (a start could also fail on SQLite's bare "database
// is locked", which is how the in-process tests above, then on embedded events, found it).
const joining =
  "a node joining with the cluster's events.dir, which another gateway holds, refuses to start, naming it";
test(joining, async (t) => {
  const config = await clusterConfig(t);
  if (!config) return;
  const first = await startGateway(config);
  t.after(() => first.close());
  const second = startGateway(config);
  // Had it started, it is closed.
  t.after(() =>
    second.then(
      (gw) => gw.close(),
      () => undefined,
    ),
  );
  await assert.rejects(second, (err: Error) => {
    assert.ok(err instanceof DirInUseError, String(err));
    const expected = `events.dir ${join(first.dir, 'events')} is in use by another running Tollgate`;
    assert.ok(err.message.startsWith(expected), err.message);
    return true;
  });
  const history = (await adminClient(first.adminUrl).history()).json() as Array<{ version: number }>;
  assert.deepEqual(
    history.map((v) => v.version),
    [1],
    'the refused node stored nothing',
  );
});

test("a joined node holds the cluster's events.dir and lets go of its own file's, which it does not use", async (t) => {
  const config = await clusterConfig(t);
  if (!config) return;
  const first = await startGateway(config);
  await first.close();
  const second = await startGateway(config);
  t.after(() => second.close());
  await assert.rejects(lockDir(join(first.dir, 'events'), 'events.dir', 'hint'), DirInUseError);
  const own = await lockDir(join(second.dir, 'events'), 'events.dir', 'hint');
  assert.ok(own, "the node's own events.dir was free to lock");
  await own.release();
});

// Regression: a node restarting without a TLS file the cluster's head names stored its own file on top,
// replacing every node's config and admin edits (the others adopted it silently).
test("a node that cannot validate the cluster's config refuses to start and stores nothing over it", async (t) => {
  const redis = await startPrivateRedis(t);
  if (!redis) return;
  const prefix = `tollgate-test-${randomUUID()}:`;
  const store = new RedisConfigStore({ url: redis.url, prefix });
  t.after(() => store.close());
  const cluster = fileOf('edited');
  const svc = (cluster.raw.services as Array<Record<string, unknown>>)[0];
  svc.upstream = { targets: [{ url: 'https://127.0.0.1:9' }], tls: { ca_file: '/nonexistent/tollgate-test-ca.pem' } };
  const head = await store.append(
    {
      config: cluster.raw,
      source: 'admin',
      createdAt: new Date().toISOString(),
      fileHash: '',
      note: 'PUT /services/edited',
    },
    0,
  );

  await assert.rejects(
    initialVersion(fileOf('mine'), store, true),
    new RegExp(
      "the cluster's config version 1 does not validate on this node.*" +
        '/services/0/upstream/tls/ca_file: cannot read /nonexistent/tollgate-test-ca\\.pem',
    ),
  );
  assert.deepEqual(
    (await store.list(10)).map((v) => v.version),
    [head.version],
    'nothing was stored over it',
  );
});
