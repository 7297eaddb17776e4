import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigVersion } from '../types.ts';
import { ConfigConflictError } from './conflict.ts';
import { FileConfigStore } from './file.ts';
import { createStore } from './index.ts';

function draft(n: number): Omit<ConfigVersion, 'version'> {
  return {
    config: { services: [{ name: `svc-${n}`, tags: [] }] },
    source: 'admin',
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
    fileHash: 'a'.repeat(64),
    note: `edit ${n}`,
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-file-store-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('an empty store has no head and an empty history', () =>
  withDir(async (dir) => {
    const store = new FileConfigStore({ dir: join(dir, 'not-yet-created') });
    assert.equal(await store.head(), undefined);
    assert.deepEqual(await store.list(10), []);
    assert.equal(await store.get(1), undefined);
    await store.close();
  }));

test('append numbers versions from 1 and moves the head', () =>
  withDir(async (dir) => {
    const store = new FileConfigStore({ dir });
    const first = await store.append(draft(1));
    const second = await store.append(draft(2));
    assert.equal(first.version, 1);
    assert.equal(second.version, 2);
    assert.deepEqual(await store.head(), { ...draft(2), version: 2 });
    assert.deepEqual(await store.get(1), { ...draft(1), version: 1 });
    assert.equal(await store.get(3), undefined);
    await store.close();
  }));

test('list returns summaries newest first without the config', () =>
  withDir(async (dir) => {
    const store = new FileConfigStore({ dir });
    for (let n = 1; n <= 4; n++) await store.append(draft(n));
    const list = await store.list(3);
    assert.deepEqual(
      list.map((s) => s.version),
      [4, 3, 2],
    );
    assert.equal('config' in list[0], false);
    assert.equal(list[0].note, 'edit 4');
    await store.close();
  }));

test('versions past historyLimit are pruned from disk', () =>
  withDir(async (dir) => {
    const store = new FileConfigStore({ dir, historyLimit: 3 });
    for (let n = 1; n <= 6; n++) await store.append(draft(n));
    assert.deepEqual(
      (await store.list(100)).map((s) => s.version),
      [6, 5, 4],
    );
    assert.equal(await store.get(3), undefined);
    const versionFiles = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    assert.equal(versionFiles.length, 3);
    assert.equal(
      (await readdir(dir)).some((f) => f.startsWith('.tmp-')),
      false,
    );
    await store.close();
  }));

test('a store reopened on the same directory keeps the head and continues numbering', () =>
  withDir(async (dir) => {
    const before = await createStore({ kind: 'file', dir });
    await before.append(draft(1));
    await before.append(draft(2));
    await before.close();

    const after = await createStore({ kind: 'file', dir });
    assert.deepEqual(await after.head(), { ...draft(2), version: 2 });
    assert.equal((await after.append(draft(3))).version, 3);
    await after.close();
  }));

test('concurrent appends on one store get distinct versions', () =>
  withDir(async (dir) => {
    const store = new FileConfigStore({ dir });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(draft(i))));
    assert.deepEqual(
      results.map((r) => r.version).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal((await store.head())?.version, 20);
    await store.close();
  }));

test('concurrent appends from two stores on one directory get distinct versions and the head is the newest', () =>
  withDir(async (dir) => {
    const a = new FileConfigStore({ dir });
    const b = new FileConfigStore({ dir });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).append(draft(i))));
    const versions = results.map((r) => r.version).sort((x, y) => x - y);
    assert.deepEqual(
      versions,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal((await a.head())?.version, 20);
    assert.equal((await b.head())?.version, 20);
    // Each version holds the body its appender wrote.
    for (const r of results) assert.deepEqual(await a.get(r.version), r);
    await Promise.all([a.close(), b.close()]);
  }));

test('an append derived from a version the head has moved past is refused and stores nothing', () =>
  withDir(async (dir) => {
    const a = new FileConfigStore({ dir });
    const b = new FileConfigStore({ dir });
    await a.append(draft(1));
    assert.equal((await b.append(draft(2), 1)).version, 2);
    await assert.rejects(a.append(draft(3), 1), (err: unknown) => {
      assert.ok(err instanceof ConfigConflictError);
      assert.deepEqual([err.base, err.head], [1, 2]);
      return true;
    });
    assert.equal((await a.head())?.version, 2);
    assert.equal(await a.get(3), undefined);
    assert.equal((await a.append(draft(3), 2)).version, 3);
    await Promise.all([a.close(), b.close()]);
  }));

test('of concurrent appends from two stores on one directory and one base exactly one is stored', () =>
  withDir(async (dir) => {
    const a = new FileConfigStore({ dir });
    const b = new FileConfigStore({ dir });
    await a.append(draft(1));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).append(draft(10 + i), 1)),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConfigConflictError);
    assert.equal((await a.head())?.version, 2);
    assert.equal(
      (await readdir(dir)).some((f) => f.startsWith('.tmp-')),
      false,
    );
    await Promise.all([a.close(), b.close()]);
  }));

test('watch is a no-op for the single-node store', () =>
  withDir(async (dir) => {
    const store = new FileConfigStore({ dir });
    let calls = 0;
    store.watch(() => calls++);
    await store.append(draft(1));
    assert.equal(calls, 0);
    await store.close();
  }));

test('rejects a historyLimit below 1', () => {
  assert.throws(() => new FileConfigStore({ dir: '/nonexistent', historyLimit: 0 }), RangeError);
});
