import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAppStore } from './file.ts';

test('the file app store starts empty, saves with compare-and-set and survives a reopen with mode 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-apps-'));
  try {
    const store = new FileAppStore(join(dir, 'identity'));
    assert.deepEqual(await store.load(), { version: 0, apps: [], keys: [] });
    const saved = await store.save({ apps: [], keys: [] }, 0);
    assert.equal(saved?.version, 1);
    assert.equal(await store.save({ apps: [], keys: [] }, 0), undefined, 'a stale writer loses');
    assert.equal((await store.save({ apps: [], keys: [] }, 1))?.version, 2);
    assert.equal((await stat(join(dir, 'identity', 'identity.json'))).mode & 0o777, 0o600);
    await store.close();
    assert.equal((await new FileAppStore(join(dir, 'identity')).load()).version, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
