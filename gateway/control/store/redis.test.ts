import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ConfigVersion } from '../types.ts';
import { ConfigConflictError } from './conflict.ts';
import { RedisConfigStore } from './redis.ts';

// Real Redis from scripts/services.sh; CI must have it, a laptop may skip.
const url = process.env.TOLLGATE_TEST_REDIS_URL;
const inCi = process.env.CI === 'true';
const skip =
  !url && !inCi ? 'TOLLGATE_TEST_REDIS_URL is unset; run `npm run services:up` and export the URL it prints' : false;

/** Every test gets its own prefix so runs and tests never see each other's keys. */
function freshPrefix(): string {
  return `tollgate-test:${randomBytes(6).toString('hex')}:`;
}

function draft(n: number): Omit<ConfigVersion, 'version'> {
  return {
    config: { services: [{ name: `svc-${n}`, tags: [] }] },
    source: 'admin',
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
    fileHash: 'b'.repeat(64),
    note: `edit ${n}`,
  };
}

function redisUrl(): string {
  assert.ok(url, 'CI=true requires TOLLGATE_TEST_REDIS_URL (start Redis with `npm run services:up`)');
  return url;
}

async function withStores(count: number, fn: (stores: RedisConfigStore[]) => Promise<void>, historyLimit?: number) {
  const prefix = freshPrefix();
  const stores = Array.from({ length: count }, () => new RedisConfigStore({ url: redisUrl(), prefix, historyLimit }));
  try {
    await fn(stores);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    const admin = new Redis(redisUrl());
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  }
}

function nextHead(store: RedisConfigStore, timeoutMs: number): Promise<ConfigVersion> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no head reported within ${timeoutMs} ms`)), timeoutMs);
    store.watch((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

test('append numbers versions from 1 and head, get and list read them back', { skip }, () =>
  withStores(1, async ([store]) => {
    assert.equal(await store.head(), undefined);
    assert.equal((await store.append(draft(1))).version, 1);
    assert.equal((await store.append(draft(2))).version, 2);
    assert.deepEqual(await store.head(), { ...draft(2), version: 2 });
    assert.deepEqual(await store.get(1), { ...draft(1), version: 1 });
    assert.equal(await store.get(3), undefined);
    const list = await store.list(10);
    assert.deepEqual(
      list.map((s) => s.version),
      [2, 1],
    );
    assert.equal('config' in list[0], false);
  }),
);

test('versions past historyLimit are pruned', { skip }, () =>
  withStores(
    1,
    async ([store]) => {
      for (let n = 1; n <= 6; n++) await store.append(draft(n));
      assert.deepEqual(
        (await store.list(100)).map((s) => s.version),
        [6, 5, 4],
      );
      assert.equal(await store.get(3), undefined);
    },
    3,
  ),
);

test('an append on one node is reported to the other node within 1 s', { skip }, () =>
  withStores(2, async ([a, b]) => {
    const seen = nextHead(b, 1000);
    // Let b subscribe so this exercises pub/sub, not only the poll.
    await new Promise((r) => setTimeout(r, 100));
    const appended = await a.append(draft(7));
    assert.deepEqual(await seen, appended);
  }),
);

test('a node that starts watching after an append is told the current head', { skip }, () =>
  withStores(2, async ([a, b]) => {
    const appended = await a.append(draft(1));
    // Published before b subscribed, so only the check on subscribe can see it.
    assert.deepEqual(await nextHead(b, 1500), appended);
  }),
);

test('a head whose message was lost is still picked up by the poll within 1 s', { skip }, () =>
  withStores(1, async ([b]) => {
    const reported: ConfigVersion[] = [];
    b.watch((v) => reported.push(v));
    await new Promise((r) => setTimeout(r, 100));
    // Another node's append whose PUBLISH never arrived (as during a reconnect).
    const raw = new Redis(redisUrl());
    try {
      await raw.hset(`${b.prefix}config:versions`, '1', JSON.stringify(draft(1)));
      await raw.incr(`${b.prefix}config:head`);
    } finally {
      await raw.quit();
    }
    const deadline = Date.now() + 1200;
    while (reported.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(reported, [{ ...draft(1), version: 1 }]);
  }),
);

test('a node whose connections were killed reconnects and still sees new heads', { skip }, () =>
  withStores(1, async ([a]) => {
    const connectionName = `watcher-${randomBytes(4).toString('hex')}`;
    const b = new RedisConfigStore({ url: redisUrl(), prefix: a.prefix, connectionName });
    const raw = new Redis(redisUrl());
    try {
      const reported: number[] = [];
      b.watch((v) => reported.push(v.version));
      await new Promise((r) => setTimeout(r, 200));
      const clients = String(await raw.client('LIST'))
        .split('\n')
        .filter((l) => l.includes(` name=${connectionName} `));
      assert.equal(clients.length, 2, 'the command and the subscriber connection');
      for (const line of clients) await raw.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]);
      await a.append(draft(1));
      const deadline = Date.now() + 3000;
      while (reported.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(reported, [1]);
    } finally {
      await raw.quit();
      await b.close();
    }
  }),
);

test('a node is not told about its own appends', { skip }, () =>
  withStores(2, async ([a, b]) => {
    const reportedToA: number[] = [];
    a.watch((v) => reportedToA.push(v.version));
    const seenByB = nextHead(b, 1000);
    await new Promise((r) => setTimeout(r, 100));
    await a.append(draft(1));
    await seenByB;
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(reportedToA, []);
  }),
);

test('concurrent appends from two nodes get distinct versions and the head is the newest', { skip }, () =>
  withStores(2, async ([a, b]) => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).append(draft(i))));
    const versions = results.map((r) => r.version).sort((x, y) => x - y);
    assert.deepEqual(
      versions,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.equal((await a.head())?.version, 40);
    for (const r of results) assert.deepEqual(await b.get(r.version), r);
  }),
);

test('an append derived from a version another node has moved past is refused and stores nothing', { skip }, () =>
  withStores(2, async ([a, b]) => {
    const base = await a.append(draft(1));
    assert.equal((await b.append(draft(2), base.version)).version, 2);
    await assert.rejects(a.append(draft(3), base.version), (err: unknown) => {
      assert.ok(err instanceof ConfigConflictError);
      assert.deepEqual([err.base, err.head], [1, 2]);
      return true;
    });
    assert.equal((await a.head())?.version, 2);
    assert.equal(await a.get(3), undefined);
    // Derived from the new head it goes through.
    assert.equal((await a.append(draft(3), 2)).version, 3);
  }),
);

test('of concurrent appends from two nodes on the same base exactly one is stored', { skip }, () =>
  withStores(2, async ([a, b]) => {
    await a.append(draft(1));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).append(draft(10 + i), 1)),
    );
    const stored = results.filter((r) => r.status === 'fulfilled');
    assert.equal(stored.length, 1);
    assert.equal(stored[0].value.version, 2);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConfigConflictError);
    assert.deepEqual(
      (await a.list(10)).map((s) => s.version),
      [2, 1],
    );
  }),
);

test("a refused append does not hide the winning version from its node's watch", { skip }, () =>
  withStores(2, async ([a, b]) => {
    await a.append(draft(1));
    const reported: number[] = [];
    a.watch((v) => reported.push(v.version));
    await new Promise((r) => setTimeout(r, 100));
    reported.length = 0;
    await b.append(draft(2), 1);
    await assert.rejects(a.append(draft(3), 1), ConfigConflictError);
    const deadline = Date.now() + 1500;
    while (!reported.includes(2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(reported, [2]);
  }),
);

test('an append whose base is past the head (the store lost its keys) is numbered after the base', { skip }, () =>
  withStores(1, async ([a]) => {
    assert.equal((await a.append(draft(1), 7)).version, 8);
    assert.equal((await a.head())?.version, 8);
    assert.equal((await a.append(draft(2))).version, 9);
  }),
);

test(
  'a watching node whose store lost its keys is told the head it now has, on each check until the head is back',
  { skip },
  () =>
    withStores(2, async ([a, b]) => {
      const lost: number[] = [];
      const reported: number[] = [];
      b.watch(
        (v) => reported.push(v.version),
        (head) => lost.push(head),
      );
      await a.append(draft(1));
      await a.append(draft(2));
      const deadline = Date.now() + 1500;
      while (reported.at(-1) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(reported.at(-1), 2);
      assert.deepEqual(lost, []);
      const reportedBefore = reported.length;
      const raw = new Redis(redisUrl());
      try {
        await raw.del(`${a.prefix}config:head`, `${a.prefix}config:versions`);
        const lostDeadline = Date.now() + 4000;
        while (lost.length < 2 && Date.now() < lostDeadline) await new Promise((r) => setTimeout(r, 50));
        assert.ok(lost.length >= 2 && lost.every((h) => h === 0), `lost: ${lost}`);
        // Put back under its own number (the base the restoring node serves, less one): nothing new for b.
        assert.equal((await a.append(draft(2), 1)).version, 2);
        // A check that read the empty head before the append may still report; the ones after it must not.
        await new Promise((r) => setTimeout(r, 1200));
        const count = lost.length;
        await new Promise((r) => setTimeout(r, 1200));
        assert.equal(lost.length, count, 'no more reports once the head is back');
        assert.equal(reported.length, reportedBefore, `the version put back is nothing new: ${reported}`);
      } finally {
        await raw.quit();
      }
    }),
);

test('reports only versions newer than the last one seen', { skip }, () =>
  withStores(2, async ([a, b]) => {
    const reported: number[] = [];
    b.watch((v) => reported.push(v.version));
    await new Promise((r) => setTimeout(r, 100));
    await a.append(draft(1));
    await a.append(draft(2));
    await a.append(draft(3));
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok(reported.length >= 1, 'at least the newest version is reported');
    assert.equal(reported.at(-1), 3);
    for (let i = 1; i < reported.length; i++) assert.ok(reported[i] > reported[i - 1], `increasing: ${reported}`);
  }),
);

test('a command against an unreachable Redis fails within the command timeout', async () => {
  // Port 1 on loopback refuses connections, so the command waits in the offline queue.
  const store = new RedisConfigStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
  try {
    const started = Date.now();
    await assert.rejects(store.head(), /timed out/i);
    assert.ok(Date.now() - started < 1500);
  } finally {
    await store.close();
  }
});
