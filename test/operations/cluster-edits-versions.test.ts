// Cluster edits against versions: If-Match past the head, a file reload behind the head, lost races.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfigFile } from '../../gateway/control/config/load.ts';
import { ConfigManager } from '../../gateway/control/config-manager.ts';
import { initialVersion } from '../../gateway/control/file-history.ts';
import { fileHashOf } from '../../gateway/control/file-hash.ts';
import { RedisConfigStore } from '../../gateway/control/store/redis.ts';
import type { ConfigStore } from '../../gateway/control/types.ts';
import { service } from '../helpers/gateway.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { adminClient } from './admin.ts';
import { tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { call, metricValue } from './client.ts';

/**
 * Admin edits made at the same time on different nodes of a cluster (one
 * Redis store). Each node used to append the config it derived from its own
 * head, so an edit appended by another node in between was silently dropped.
 * Every test has a private redis-server, so none depends on the shared one.
 * The nodes reach it through a relay (helpers/redis-interposer.ts), so a test
 * can store another node's version inside a node's own append.
 */

import { beforeNextAppend, cluster, serviceNames } from './cluster-edits.fixture.ts';

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
