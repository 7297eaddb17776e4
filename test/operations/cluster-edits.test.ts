import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfigFile } from '../../gateway/control/config/load.ts';
import { ConfigManager } from '../../gateway/control/config-manager.ts';
import { initialVersion } from '../../gateway/control/file-history.ts';
import { fileHashOf } from '../../gateway/control/file-hash.ts';
import { RedisConfigStore } from '../../gateway/control/store/redis.ts';
import type { ConfigStore } from '../../gateway/control/types.ts';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { scriptOn, startRedisInterposer, type RedisInterposer, type Trap } from '../helpers/redis-interposer.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { call, get, metricValue } from './client.ts';

/**
 * Admin edits made at the same time on different nodes of a cluster (one
 * Redis store). Each node used to append the config it derived from its own
 * head, so an edit appended by another node in between was silently dropped.
 * Every test has a private redis-server, so none depends on the shared one.
 * The nodes reach it through a relay (helpers/redis-interposer.ts), so a test
 * can store another node's version inside a node's own append.
 */

interface Cluster {
  /** The server itself: what "another node" writes to. */
  redisUrl: string;
  /** What the nodes here connect to. */
  relay: RedisInterposer;
  prefix: string;
  upstream: TestUpstream;
  node(): Promise<TestGateway>;
}

async function cluster(t: TestContext): Promise<Cluster | undefined> {
  const redis = await startPrivateRedis(t);
  if (!redis) return undefined;
  const relay = await startRedisInterposer(t, redis.url);
  const prefix = `tollgate-test-${randomUUID()}:`;
  const upstream = await startUpstream('one');
  const nodes: TestGateway[] = [];
  t.after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await upstream.close();
  });
  return {
    redisUrl: redis.url,
    relay,
    prefix,
    upstream,
    async node() {
      const gw = await startGateway({
        store: { kind: 'redis', redis_url: relay.url, prefix },
        services: [service('api', [upstream.url], [{ paths: ['/api'] }])],
      });
      nodes.push(gw);
      return gw;
    },
  };
}

const serviceNames = (gw: TestGateway) =>
  ((gw.manager.current().config.services ?? []) as Array<{ name: string }>).map((s) => s.name).sort();

/**
 * Another node's edit whose announcement this cluster's nodes have not
 * heard yet (stored and made the head, never published): until their next
 * poll they still serve the version before it.
 */
async function appendUnannounced(
  c: Pick<Cluster, 'redisUrl' | 'prefix'>,
  change: (services: unknown[]) => unknown[],
): Promise<number> {
  const raw = new Redis(c.redisUrl);
  try {
    const headKey = `${c.prefix}config:head`;
    const versionsKey = `${c.prefix}config:versions`;
    const head = Number(await raw.get(headKey));
    const body = JSON.parse((await raw.hget(versionsKey, String(head)))!);
    body.config = { ...body.config, services: change(body.config.services) };
    body.source = 'admin';
    body.note = 'an edit on another node';
    await raw.hset(versionsKey, String(head + 1), JSON.stringify(body));
    await raw.set(headKey, String(head + 1));
    return head + 1;
  } finally {
    await raw.quit();
  }
}

/**
 * appendUnannounced, made while the next append a node here sends is on its
 * way to Redis: the node has made its change on the version it serves, and
 * no poll can tell it of the newer one first, so that append loses the race
 * every time (a version stored before the edit was sent was adopted instead
 * whenever the node's 1 s poll came first, and the race the test is about
 * never happened). `version()`: the version stored, once the step has run.
 */
function beforeNextAppend(
  c: Pick<Cluster, 'redisUrl' | 'prefix' | 'relay'>,
  change: (services: unknown[]) => unknown[],
): Trap & { version(): number } {
  let version = 0;
  const trap = c.relay.before(scriptOn(`${c.prefix}config:head`), async () => {
    version = await appendUnannounced(c, change);
  });
  return { ran: () => trap.ran(), version: () => version };
}

test('ten service PUTs fired at once at two nodes all end up in the config on both nodes', async (t) => {
  const c = await cluster(t);
  if (!c) return;
  const a = await c.node();
  const b = await c.node();
  const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
  const replies = await Promise.all(
    names.map((name, i) =>
      adminClient((i % 2 === 0 ? a : b).adminUrl).putService(
        service(name, [c.upstream.url], [{ paths: [`/${name}`] }]),
      ),
    ),
  );
  for (const r of replies) assert.equal(r.status, 200, r.text);
  const versions = replies.map((r) => r.json().version as number);
  assert.equal(new Set(versions).size, 10, `each PUT made its own version: ${versions}`);

  const head = Math.max(...versions);
  const caughtUp = await eventually(
    () => a.manager.current().version === head && b.manager.current().version === head,
    3000,
  );
  assert.ok(
    caughtUp,
    `both nodes serve version ${head}: A ${a.manager.current().version}, B ${b.manager.current().version}`,
  );
  const expected = ['api', ...names].sort();
  assert.deepEqual(serviceNames(a), expected);
  assert.deepEqual(serviceNames(b), expected);
  // And the data planes serve them, not only the control planes.
  for (const name of names) {
    assert.equal((await get(`${a.url}/${name}/x`)).status, 200, `A serves ${name}`);
    assert.equal((await get(`${b.url}/${name}/x`)).status, 200, `B serves ${name}`);
  }
});

test(
  'an edit on a node that has not heard of another ' + "node's newer version yet is redone on that version",
  async (t) => {
    const c = await cluster(t);
    if (!c) return;
    const a = await c.node();
    const other = beforeNextAppend(c, (services) => [
      ...services,
      service('other', [c.upstream.url], [{ paths: ['/other'] }]),
    ]);

    const put = await adminClient(a.adminUrl).putService(service('mine', [c.upstream.url], [{ paths: ['/mine'] }]));
    assert.equal(other.ran(), 1, "the other node's version was stored while A's append was on its way");
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json().version, other.version() + 1);
    assert.deepEqual(serviceNames(a), ['api', 'mine', 'other']);
    assert.equal((await get(`${a.url}/other/x`)).status, 200, 'the adopted version is applied to the data plane');
    assert.equal((await get(`${a.url}/mine/x`)).status, 200);
    const metrics = (await adminClient(a.adminUrl).metrics()).text;
    assert.equal(
      metricValue(metrics, 'tollgate_config_conflicts_total', { result: 'retried' }),
      1,
      'the lost race is counted',
    );
    assert.equal(metricValue(metrics, 'tollgate_config_conflicts_total', { result: 'gave_up' }), undefined);
  },
);

test("with workers: 2 the primary counts an edit's lost race in tollgate_config_conflicts_total", async (t) => {
  const redis = await startPrivateRedis(t);
  if (!redis) return;
  const relay = await startRedisInterposer(t, redis.url);
  const upstream = await startUpstream('one');
  t.after(() => upstream.close());
  const c = { redisUrl: redis.url, relay, prefix: `tollgate-test-${randomUUID()}:` };
  const dir = tempDir();
  const file = writeYaml(dir, 'gw.yaml', {
    workers: 2,
    proxy: { listen: `127.0.0.1:${await freePort()}` },
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'info' },
    store: { kind: 'redis', redis_url: relay.url, prefix: c.prefix },
    services: [service('api', [upstream.url], [{ paths: ['/api'] }])],
  });
  const gw = await startGatewayProcess(file);
  t.after(() => gw.stop());
  const other = beforeNextAppend(c, (services) => [
    ...services,
    service('other', [upstream.url], [{ paths: ['/other'] }]),
  ]);
  const put = await adminClient(gw.adminUrl).putService(service('mine', [upstream.url], [{ paths: ['/mine'] }]));
  assert.equal(other.ran(), 1);
  assert.equal(put.status, 200, put.text);
  assert.equal(
    put.json().version,
    other.version() + 1,
    'the edit lost the race to the unannounced version and was redone on it',
  );
  const metrics = (await adminClient(gw.adminUrl).metrics()).text;
  assert.equal(metricValue(metrics, 'tollgate_config_conflicts_total', { result: 'retried' }), 1);
  assert.equal(
    metrics.split('\n').filter((l) => l === '# TYPE tollgate_config_conflicts_total counter').length,
    1,
    "one family, the primary's",
  );
});

test(
  'a write whose If-Match names the version the ' + 'node serves gets 412 once the cluster head is past it',
  async (t) => {
    const c = await cluster(t);
    if (!c) return;
    const a = await c.node();
    const etag = (await adminClient(a.adminUrl).service('api')).headers.etag as string;
    assert.equal(etag, `"${a.manager.current().version}"`);
    const trap = beforeNextAppend(c, (services) => [
      ...services,
      service('other', [c.upstream.url], [{ paths: ['/other'] }]),
    ]);

    const put = await call('PUT', `${a.adminUrl}/services/mine`, {
      headers: { 'if-match': etag },
      body: service('mine', [c.upstream.url], [{ paths: ['/mine'] }]),
    });
    assert.equal(trap.ran(), 1, 'A passed the check on the version it serves and was appending');
    const other = trap.version();
    assert.equal(put.status, 412, put.text);
    assert.equal(put.json().code, 'GW_ERR_CONFIG_VERSION_MISMATCH');
    assert.equal(put.headers.etag, `"${other}"`);
    assert.deepEqual(serviceNames(a), ['api', 'other'], 'the newer head is adopted, the edit is not applied');
    assert.equal(
      metricValue((await adminClient(a.adminUrl).metrics()).text, 'tollgate_config_conflicts_total', {
        result: 'retried',
      }),
      1,
      'its lost race is counted',
    );

    const rollback = await call('POST', `${a.adminUrl}/config/rollback`, {
      headers: { 'if-match': etag },
      body: { version: 1 },
    });
    assert.equal(rollback.status, 412, rollback.text);

    // With the ETag it now serves, the same write goes through.
    const retry = await call('PUT', `${a.adminUrl}/services/mine`, {
      headers: { 'if-match': `"${other}"` },
      body: service('mine', [c.upstream.url], [{ paths: ['/mine'] }]),
    });
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.json().version, other + 1);
  },
);

test('a file reload on a node behind the cluster head still applies: the file wins', async (t) => {
  const c = await cluster(t);
  if (!c) return;
  const a = await c.node();
  const other = beforeNextAppend(c, (services) => [
    ...services,
    service('other', [c.upstream.url], [{ paths: ['/other'] }]),
  ]);
  a.writeConfig({
    services: [
      service('api', [c.upstream.url], [{ paths: ['/api'] }]),
      service('filed', [c.upstream.url], [{ paths: ['/filed'] }]),
    ],
  });
  const r = await a.manager.reloadFromFile();
  assert.equal(other.ran(), 1);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.version.version, other.version() + 1);
  assert.deepEqual(serviceNames(a), ['api', 'filed']);
});

/**
 * Regression: the reload's warning named only the edits up to the version
 * this node served, so edits another node had stored that this one had not
 * adopted yet were replaced without a word (the README says they are named).
 * The node here never hears of the other node's appends (its store's watch
 * is off), which makes "not adopted yet" certain rather than a race with the poll.
 */
test(
  'a file reload names the admin edits it replaces, also ' + 'those another node stored that this node had not adopted',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const prefix = `tollgate-test-${randomUUID()}:`;
    const dir = tempDir();
    const up = 'http://127.0.0.1:9';
    const fileConfig = (names: string[]) => ({
      log: { level: 'warn' },
      services: names.map((n) => service(n, [up], [{ paths: [`/${n}`] }])),
    });
    const file = writeYaml(dir, 'gw.yaml', fileConfig(['api']));
    const own = new RedisConfigStore({ url: redis.url, prefix });
    const other = new RedisConfigStore({ url: redis.url, prefix });
    t.after(() => Promise.all([own.close(), other.close()]));
    const deaf: ConfigStore = {
      head: () => own.head(),
      get: (v) => own.get(v),
      list: (n) => own.list(n),
      append: (v, b) => own.append(v, b),
      watch: () => undefined,
      close: () => own.close(),
    };
    const lines: Record<string, any>[] = [];
    const log = pino(
      { level: 'warn' },
      {
        write: (s: string) => {
          lines.push(JSON.parse(s));
        },
      },
    );
    const loaded = loadConfigFile(file);
    assert.ok(loaded.ok);
    const { version } = await initialVersion({ raw: loaded.raw!, text: loaded.text! }, deaf, true);
    const manager = new ConfigManager({
      file,
      store: deaf,
      port: { apply: () => undefined, health: () => [], metrics: async () => ({ contentType: '', body: '' }) },
      log,
    });
    manager.init(version, fileHashOf(loaded.raw!));

    const mine = await manager.edit(
      (c) => ({
        config: { ...c, services: [...(c.services as unknown[]), service('mine', [up], [{ paths: ['/mine'] }])] },
      }),
      'PUT /services/mine',
    );
    assert.ok(mine.ok);
    const head = (await other.head())!;
    const theirs = await other.append(
      {
        ...head,
        config: {
          ...head.config,
          services: [...(head.config.services as unknown[]), service('theirs', [up], [{ paths: ['/theirs'] }])],
        },
        source: 'admin',
        note: 'PUT /services/theirs',
      },
      head.version,
    );
    assert.equal(manager.current().version, mine.version.version, "this node has not adopted the other node's edit");

    writeYaml(dir, 'gw.yaml', fileConfig(['api', 'filed']));
    const r = await manager.reloadFromFile();
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.version.version, theirs.version + 1);
    const warned = lines.find((l) => /config file applied over admin edits/.test(l.msg));
    assert.ok(warned, `warnings: ${JSON.stringify(lines)}`);
    assert.equal(warned.replaced_edits, 2);
    assert.deepEqual(warned.replaced, [
      `${theirs.version} admin: PUT /services/theirs`,
      `${mine.version.version} admin: PUT /services/mine`,
    ]);

    // Serving the file's own version, with only the other node's edit on top of it, unheard of.
    lines.length = 0;
    const reloaded = (await other.get(r.version.version))!;
    const later = await other.append(
      { ...reloaded, config: { ...reloaded.config, services: [] }, source: 'admin', note: 'DELETE /services/api' },
      reloaded.version,
    );
    writeYaml(dir, 'gw.yaml', fileConfig(['api', 'filed', 'again']));
    const again = await manager.reloadFromFile();
    assert.ok(again.ok && again.version.version === later.version + 1, JSON.stringify(again));
    const second = lines.find((l) => /config file applied over admin edits/.test(l.msg));
    assert.deepEqual(second?.replaced, [`${later.version} admin: DELETE /services/api`]);
  },
);
