import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../log.ts';
import { ConfigManager, type DataPlanePort } from './config-manager.ts';
import { EDIT_ATTEMPTS } from './store/conflict.ts';
import { FileConfigStore } from './store/file.ts';
import type { ConfigStore, ConfigVersion, RawConfig } from './types.ts';

import { beatenEveryTime, port, service, servicesOf } from './config-manager.fixture.ts';

test(
  'an edit another writer beats on every try gives up ' + 'after EDIT_ATTEMPTS with a conflict and stores nothing',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
    try {
      const own = new FileConfigStore({ dir });
      const rival = new FileConfigStore({ dir });
      const first = await own.append({
        config: { log: { level: 'silent' }, services: [service('api')] },
        source: 'file',
        createdAt: new Date().toISOString(),
        fileHash: 'f'.repeat(64),
        note: 'loaded from file',
      });
      const store = beatenEveryTime(own, rival);
      const applied: number[] = [];
      const conflicts: string[] = [];
      const manager = new ConfigManager({
        file: join(dir, 'unused.yaml'),
        store,
        port: port(applied, conflicts),
        log: createLogger('silent'),
      });
      manager.init(first, 'f'.repeat(64));

      let calls = 0;
      const result = await manager.edit((serving) => {
        calls++;
        return { config: { ...serving, services: [...(serving.services as unknown[]), service('mine')] } };
      }, 'PUT /services/mine');

      assert.equal(calls, EDIT_ATTEMPTS, 'the edit was redone on each newer head');
      assert.equal(store.rivalVersions.length, EDIT_ATTEMPTS);
      const last = store.rivalVersions.at(-1)!;
      assert.deepEqual(result, { ok: false, conflict: { serving: last - 1, attempts: EDIT_ATTEMPTS } });
      // Each lost race adopted the winner, except the last (there is no next try to make on it).
      assert.deepEqual(applied, store.rivalVersions.slice(0, -1));
      assert.equal(manager.current().version, last - 1);
      const head = (await own.head()) as ConfigVersion;
      assert.equal(head.version, last, 'nothing of this node was stored');
      assert.equal(servicesOf(head.config).includes('mine'), false);
      // tollgate_config_conflicts_total: every lost race, retried on the newer head until the last.
      assert.deepEqual(conflicts, [...Array(EDIT_ATTEMPTS - 1).fill('retried'), 'gave_up']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

/** A manager on a fresh file store in `dir`, serving version 1 with the service `api`. */
async function managerOn(dir: string, applied: number[] = []) {
  const store = new FileConfigStore({ dir });
  const first = await store.append({
    config: { log: { level: 'silent' }, services: [service('api')] },
    source: 'file',
    createdAt: new Date().toISOString(),
    fileHash: 'f'.repeat(64),
    note: 'loaded from file',
  });
  const manager = new ConfigManager({
    file: join(dir, 'unused.yaml'),
    store,
    port: port(applied),
    log: createLogger('silent'),
  });
  manager.init(first, 'f'.repeat(64));
  return { store, manager };
}

/** PUT /services/NAME with `body`, as the admin route makes it. */
const putService = (body: { name: string }) => (serving: RawConfig) => ({
  config: {
    ...serving,
    services: [...(serving.services as Array<{ name: string }>).filter((s) => s.name !== body.name), body],
  },
});

test(
  'an edit that changes nothing makes no version, nor ' + 'does a rollback to the serving config; a change still does',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
    try {
      const applied: number[] = [];
      const { store, manager } = await managerOn(dir, applied);
      // The same service, its keys in another order.
      const same = {
        upstream: { targets: [{ url: 'http://127.0.0.1:9' }] },
        routes: [{ paths: ['/api'] }],
        name: 'api',
      };
      assert.deepEqual(await manager.edit(putService(same), 'PUT /services/api'), {
        ok: true,
        version: (await manager.history(1))[0],
      });
      assert.equal((await store.head())!.version, 1);
      assert.deepEqual(applied, []);

      const changed = await manager.edit(putService(service('web')), 'PUT /services/web');
      assert.ok(changed.ok);
      assert.equal(changed.version.version, 2);
      const again = await manager.rollback(2);
      assert.ok(again?.ok);
      assert.equal(again.version.version, 2, 'a rollback to the serving config is no new version');
      const back = await manager.rollback(1);
      assert.ok(back?.ok);
      assert.equal(back.version.version, 3);
      assert.deepEqual(servicesOf((await store.head())!.config), ['api']);
      assert.deepEqual(applied, [2, 3]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('an edit is answered once the data plane serves it (every worker, in cluster mode), not before', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
  try {
    const store = new FileConfigStore({ dir });
    const first = await store.append({
      config: { log: { level: 'silent' }, services: [service('api')] },
      source: 'file',
      createdAt: new Date().toISOString(),
      fileHash: 'f'.repeat(64),
      note: 'loaded from file',
    });
    let served: () => void = () => {};
    const applying: number[] = [];
    const slow: DataPlanePort = {
      ...port([]),
      apply: (_c, v) => {
        applying.push(v);
        return new Promise<void>((resolve) => {
          served = resolve;
        });
      },
    };
    const manager = new ConfigManager({
      file: join(dir, 'unused.yaml'),
      store,
      port: slow,
      log: createLogger('silent'),
    });
    manager.init(first, 'f'.repeat(64));
    let answered = false;
    const edit = manager.edit(putService(service('web')), 'PUT /services/web').then((r) => {
      answered = true;
      return r;
    });
    while (applying.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(answered, false, 'answered while a worker did not serve the edit yet');
    assert.equal(manager.current().version, 1, 'the node said it served the edit before its data plane did');
    served();
    const result = await edit;
    assert.ok(result.ok);
    assert.deepEqual(applying, [2]);
    assert.equal(manager.current().version, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an edit that changes nothing on this node's version is made when another node has appended since", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
  try {
    const { store, manager } = await managerOn(dir);
    // Another node deletes api; this node has not heard of it yet.
    const rival = new FileConfigStore({ dir });
    const head = (await rival.head())!;
    await rival.append({
      ...head,
      config: { ...head.config, services: [] },
      source: 'admin',
      note: 'DELETE /services/api',
    });

    const result = await manager.edit(putService(service('api')), 'PUT /services/api');
    assert.ok(result.ok);
    assert.equal(result.version.version, 3, "redone on the other node's version 2, where it puts api back");
    assert.deepEqual(servicesOf((await store.head())!.config), ['api']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'a store that lost its versions gets the serving one ' + 'back under its own number; one at or past it gets no write',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
    try {
      const own = new FileConfigStore({ dir });
      let v = await own.append({
        config: { log: { level: 'silent' }, services: [service('api')] },
        source: 'file',
        createdAt: new Date().toISOString(),
        fileHash: 'f'.repeat(64),
        note: 'loaded from file',
      });
      v = await own.append(
        {
          ...v,
          config: { ...v.config, services: [service('api'), service('more')] },
          source: 'admin',
          note: 'PUT /services/more',
        },
        v.version,
      );
      let onLost: ((head: number) => void) | undefined;
      const appends: Array<{ note: string; base: number | undefined }> = [];
      // The store as a lost Redis would show it: empty, appends recorded and numbered after the base.
      const store: ConfigStore = {
        head: async () => undefined,
        get: async () => undefined,
        list: async () => [],
        close: async () => {},
        watch: (_onHead, lost) => {
          onLost = lost;
        },
        async append(record, base) {
          appends.push({ note: record.note, base });
          return { ...record, version: (base ?? 0) + 1 };
        },
      };
      const manager = new ConfigManager({
        file: join(dir, 'unused.yaml'),
        store,
        port: port([]),
        log: createLogger('silent'),
      });
      manager.init(v, 'f'.repeat(64));
      assert.ok(onLost, 'the manager watches for a lost store');
      onLost(2);
      onLost(5);
      await new Promise((r) => setTimeout(r, 50)); // the manager's queue runs
      assert.deepEqual(appends, [], 'a store at or past the serving version (2) has nothing to get back');
      onLost(0);
      await new Promise((r) => setTimeout(r, 50)); // the manager's queue runs
      assert.deepEqual(
        appends,
        [{ note: 'PUT /services/more', base: 1 }],
        'the serving version 2 went back in as 2, its record as it was',
      );
      assert.equal(manager.current().version, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
