import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineQueue, type Deadline } from './deadlines.ts';

function entry(name: string, expired: { name: string; atMs: number }[], onExpire?: () => void): Deadline {
  return {
    deadlineMs: 0,
    prevDeadline: undefined,
    nextDeadline: undefined,
    expire() {
      expired.push({ name, atMs: performance.now() });
      onExpire?.();
    },
  };
}

test('entries expire in the order they were added, each no earlier than the timeout after it was added', async () => {
  const q = new DeadlineQueue(60);
  const expired: { name: string; atMs: number }[] = [];
  const added = new Map<string, number>();
  for (const name of ['a', 'b', 'c']) {
    const now = performance.now();
    added.set(name, now);
    q.add(entry(name, expired), now);
    await sleep(15);
  }
  await sleep(120);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['a', 'b', 'c'],
  );
  for (const e of expired) {
    const waited = e.atMs - added.get(e.name)!;
    assert.ok(waited >= 59 && waited < 60 + 50, `${e.name} expired after ${waited.toFixed(1)} ms`);
  }
  assert.equal(q.size, 0);
});

test('a removed entry never expires, wherever it was in the queue', async () => {
  const q = new DeadlineQueue(30);
  const expired: { name: string; atMs: number }[] = [];
  const entries = ['head', 'middle', 'kept', 'tail'].map((name) => entry(name, expired));
  for (const e of entries) q.add(e, performance.now());
  q.remove(entries[0]);
  q.remove(entries[1]);
  q.remove(entries[3]);
  q.remove(entries[3]); // twice is harmless
  assert.equal(q.size, 1);
  await sleep(80);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['kept'],
  );
  q.remove(entries[2]); // after it expired: harmless
  assert.equal(q.size, 0);
});

test('an entry added while another expires (a retry) gets a whole timeout of its own', async () => {
  const q = new DeadlineQueue(40);
  const expired: { name: string; atMs: number }[] = [];
  let retryAddedAt = 0;
  const first = entry('first', expired, () => {
    retryAddedAt = performance.now();
    q.add(entry('retry', expired), retryAddedAt);
  });
  q.add(first, performance.now());
  await sleep(60);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['first'],
  );
  await sleep(60);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['first', 'retry'],
  );
  assert.ok(expired[1].atMs - retryAddedAt >= 39, 'the retry waited its own timeout');
});

test('entries that finish in time leave nothing behind, and the queue works again after it emptied', async () => {
  const q = new DeadlineQueue(20);
  const expired: { name: string; atMs: number }[] = [];
  for (let i = 0; i < 10_000; i++) {
    const e = entry(`e${i}`, expired);
    q.add(e, performance.now());
    q.remove(e);
  }
  assert.equal(q.size, 0);
  await sleep(50);
  assert.equal(expired.length, 0);
  q.add(entry('later', expired), performance.now());
  await sleep(50);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['later'],
  );
});

test('an expire() that throws does not stop the entries after it from expiring', async () => {
  const q = new DeadlineQueue(20);
  const expired: { name: string; atMs: number }[] = [];
  const thrown: unknown[] = [];
  const onUncaught = (err: unknown) => thrown.push(err);
  // The throw escapes the timer callback, as it did from a per-request setTimeout.
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    q.add(
      entry('throws', expired, () => {
        throw new Error('boom');
      }),
      performance.now(),
    );
    await sleep(5);
    q.add(entry('next', expired), performance.now());
    await sleep(80);
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const l of listeners) process.on('uncaughtException', l);
  }
  assert.equal(thrown.length, 1);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['throws', 'next'],
  );
});

test('renew restarts an entry from the given time and moves it behind the others, wherever it was', async () => {
  const q = new DeadlineQueue(60);
  const expired: { name: string; atMs: number }[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((name) => entry(name, expired));
  const start = performance.now();
  for (const e of [a, b, c]) q.add(e, start);
  await sleep(30);
  q.renew(a, performance.now()); // from the head: b, c, a
  q.renew(a, performance.now()); // the tail already: only its deadline moves
  q.renew(c, performance.now()); // from the middle: b, a, c
  await sleep(45);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['b'],
    'b expired on its first deadline; a and c were renewed',
  );
  await sleep(60);
  assert.deepEqual(
    expired.map((e) => e.name),
    ['b', 'a', 'c'],
  );
  for (const e of expired.slice(1))
    assert.ok(e.atMs - start >= 30 + 59, `${e.name} expired ${(e.atMs - start).toFixed(1)} ms after the start`);
  assert.equal(q.size, 0);
});

test('renew of an entry not in the queue adds it', async () => {
  const q = new DeadlineQueue(20);
  const expired: { name: string; atMs: number }[] = [];
  const e = entry('e', expired);
  q.renew(e, performance.now());
  assert.equal(q.size, 1);
  await sleep(60);
  assert.deepEqual(
    expired.map((x) => x.name),
    ['e'],
  );
});
