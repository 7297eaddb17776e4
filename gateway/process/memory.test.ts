import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapStatistics } from 'node:v8';
import { QuietRelease, releaseMemory } from './memory.ts';

const MB = 2 ** 20;

/** A QuietRelease on a hand-driven clock, request count and heap reading. */
function harness() {
  const s = { now: 0, served: 0, heap: 20 * MB, released: 0 };
  const q = new QuietRelease({
    served: () => s.served,
    now: () => s.now,
    heapBytes: () => s.heap,
    release: () => {
      s.released++;
      s.heap = 21 * MB;
    },
    quietMs: 30_000,
    minGrowthBytes: 8 * MB,
    checkEveryMs: 3_600_000,
  });
  const tick = (ms: number, served = 0) => {
    s.now += ms;
    s.served += served;
    q.check();
  };
  return { s, q, tick };
}

test('after traffic grows the heap, memory is released once 30 s pass with no request', (t) => {
  const { s, q, tick } = harness();
  t.after(() => q.stop());
  tick(10_000, 500);
  s.heap = 60 * MB;
  tick(10_000, 500);
  tick(10_000);
  tick(10_000);
  assert.equal(s.released, 0, 'quiet for 20 s only');
  tick(10_000);
  assert.equal(s.released, 1, 'quiet for 30 s');
  for (let i = 0; i < 10; i++) tick(10_000);
  assert.equal(s.released, 1, 'a gateway that stays quiet releases once');
});

test('never under steady traffic, and not when the heap has not grown 8 MB above its low', (t) => {
  const { s, q, tick } = harness();
  t.after(() => q.stop());
  s.heap = 60 * MB;
  for (let i = 0; i < 20; i++) tick(10_000, 1);
  assert.equal(s.released, 0, 'a request every 10 s keeps it from running');
  // The start-up release (or V8) lowers the heap: growth counts from the lowest reading.
  s.heap = 18 * MB;
  tick(10_000, 1);
  s.heap = 25 * MB;
  for (let i = 0; i < 5; i++) tick(10_000);
  assert.equal(s.released, 0, '7 MB above the low');
  s.heap = 27 * MB;
  tick(10_000);
  assert.equal(s.released, 1, '9 MB above the low');
});

test('releaseMemory runs a real GC without exposing gc on globalThis', () => {
  // Garbage that only a full GC reclaims: old-space objects nothing references.
  let junk: object[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
  const withJunk = getHeapStatistics().used_heap_size;
  junk = undefined;
  releaseMemory();
  assert.equal(junk, undefined);
  assert.ok(getHeapStatistics().used_heap_size < withJunk - 5 * MB, 'the junk was collected');
  assert.equal('gc' in globalThis, false);
});

test(
  'the low mark is taken after every releaseMemory(), so ' + 'a gateway loaded before its first check still releases',
  (t) => {
    // As at start: the QuietRelease is made when the proxy listens, while the heap is still at its start-up size;
    // the start-up release then lowers it, and traffic grows it again before the first check.
    const s = { now: 0, heap: 57 * MB, released: 0 };
    const q = new QuietRelease({
      served: () => 0,
      now: () => s.now,
      heapBytes: () => s.heap,
      release: () => {
        s.released++;
      },
      quietMs: 5_000,
      minGrowthBytes: 8 * MB,
      checkEveryMs: 3_600_000,
    });
    t.after(() => q.stop());
    s.heap = 16 * MB;
    releaseMemory(); // the start-up release (a real one; it tells every QuietRelease)
    s.heap = 53 * MB; // a burst, over before the first check
    s.now = 10_000;
    q.check();
    assert.equal(s.released, 1, '37 MB above the heap the start-up release left');
  },
);
