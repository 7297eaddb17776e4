import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAppStore } from './file.ts';

test('the file app store starts empty, saves with compare-and-set and survives a reopen with mode 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-apps-'));
  try {
    const store = new FileAppStore(join(dir, 'identity'));
    assert.deepEqual(await store.load(), { version: 0, appsVersion: 0, keysVersion: 0, apps: [], keys: [] });
    const saved = await store.save({ apps: [], keys: [], appsVersion: 0, keysVersion: 1 }, 0);
    assert.equal(saved?.version, 1);
    assert.equal(
      await store.save({ apps: [], keys: [], appsVersion: 1, keysVersion: 1 }, 0),
      undefined,
      'a stale writer loses',
    );
    assert.equal((await store.save({ apps: [], keys: [], appsVersion: 2, keysVersion: 1 }, 1))?.version, 2);
    assert.equal((await stat(join(dir, 'identity', 'identity.json'))).mode & 0o777, 0o600);
    await store.close();
    assert.deepEqual(await new FileAppStore(join(dir, 'identity')).load(), {
      version: 2,
      appsVersion: 2,
      keysVersion: 1,
      apps: [],
      keys: [],
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'a doc stored by a release without apps and keys versions reads ' +
    'both as its version, so an ETag taken before the upgrade still matches',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-apps-'));
    try {
      await mkdir(join(dir, 'identity'));
      await writeFile(join(dir, 'identity', 'identity.json'), JSON.stringify({ version: 7, apps: [], keys: [] }));
      assert.deepEqual(await new FileAppStore(join(dir, 'identity')).load(), {
        version: 7,
        appsVersion: 7,
        keysVersion: 7,
        apps: [],
        keys: [],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'a file app store whose file was removed takes the ' + "running process's next save after the version it holds",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-apps-'));
    try {
      const store = new FileAppStore(join(dir, 'identity'));
      for (let v = 0; v < 3; v++)
        assert.ok(await store.save({ apps: [], keys: [], appsVersion: v, keysVersion: 1 }, v));
      await rm(join(dir, 'identity', 'identity.json'));
      // Before: refused (the stored version, 0, was not 3), and the change redone on an empty doc as version 1.
      assert.equal((await store.save({ apps: [], keys: [], appsVersion: 3, keysVersion: 1 }, 3))?.version, 4);
      assert.equal((await store.load()).version, 4);
      assert.equal(
        await store.save({ apps: [], keys: [], appsVersion: 3, keysVersion: 1 }, 3),
        undefined,
        'a writer behind the stored version still loses',
      );
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
