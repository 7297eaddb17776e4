import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisAppStore } from './redis.ts';

// Real Redis from scripts/services.sh; CI must have it, a laptop may skip.
const url = process.env.TOLLGATE_TEST_REDIS_URL;
const skip = !url && process.env.CI !== 'true' ? 'TOLLGATE_TEST_REDIS_URL is unset' : false;

async function withStores(fn: (a: RedisAppStore, b: RedisAppStore, prefix: string) => Promise<void>) {
  const prefix = `tollgate-test:${randomBytes(6).toString('hex')}:`;
  const a = new RedisAppStore({ url: url!, prefix });
  const b = new RedisAppStore({ url: url!, prefix });
  try {
    await fn(a, b, prefix);
  } finally {
    await Promise.all([a.close(), b.close()]);
    const raw = new Redis(url!);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
  }
}

test('two nodes saving on the same version: one wins, the other is told to reload', { skip }, () =>
  withStores(async (a, b) => {
    assert.equal((await a.load()).version, 0);
    const [ra, rb] = await Promise.all([
      a.save({ apps: [], keys: [], appsVersion: 0, keysVersion: 1 }, 0),
      b.save({ apps: [], keys: [], appsVersion: 0, keysVersion: 1 }, 0),
    ]);
    assert.equal([ra, rb].filter(Boolean).length, 1);
    assert.deepEqual(await b.load(), { version: 1, appsVersion: 0, keysVersion: 1, apps: [], keys: [] });
  }),
);

test(
  'a store that lost its data takes a save made on the version a node ' +
    'still serves, after it; a watching node is told of the loss until then',
  { skip },
  () =>
    withStores(async (a, b, prefix) => {
      const doc = { apps: [], keys: [], appsVersion: 0, keysVersion: 1 };
      for (let v = 0; v < 3; v++) assert.ok(await a.save(doc, v));
      let lost = 0;
      b.watch(
        () => {},
        () => lost++,
      );
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(lost, 0);
      const raw = new Redis(url!);
      try {
        await raw.del(`${prefix}identity`);
        const deadline = Date.now() + 3000;
        while (lost < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.ok(lost >= 1, 'the loss was reported');
        // Before: refused, because the stored version (0) was not the expected one (3).
        const saved = await a.save({ ...doc, appsVersion: 3 }, 3);
        assert.equal(saved?.version, 4);
        assert.equal((await b.load()).version, 4);
        // A save behind the stored version is still a conflict.
        assert.equal(await b.save(doc, 2), undefined);
        await new Promise((r) => setTimeout(r, 700));
        const count = lost;
        await new Promise((r) => setTimeout(r, 1200));
        assert.equal(lost, count, 'no more reports once the version is back');
      } finally {
        await raw.quit();
      }
    }),
);

test('a save on one node is reported to a watching node within a second, and not to the saver', { skip }, () =>
  withStores(async (a, b) => {
    let seenByA = 0;
    a.watch(() => seenByA++);
    const seenByB = new Promise<number>((resolve) => {
      const t0 = Date.now();
      b.watch(() => resolve(Date.now() - t0));
    });
    await new Promise((r) => setTimeout(r, 100));
    const now = Date.now();
    await a.save(
      {
        apps: [
          {
            id: 'x',
            name: 'x',
            status: 'enabled',
            secrets: [],
            allowedIps: [],
            roles: [],
            createdAt: now,
            updatedAt: now,
          },
        ],
        keys: [],
        appsVersion: 1,
        keysVersion: 0,
      },
      0,
    );
    const ms = await seenByB;
    assert.ok(ms < 1000, `${ms} ms`);
    assert.equal((await b.load()).apps[0].id, 'x');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(seenByA, 0);
  }),
);
