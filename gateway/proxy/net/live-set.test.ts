import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LiveSet } from './live-set.ts';

test('a LiveSet holds what a Set would under any sequence of adds and deletes', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }), (ops) => {
      const items = Array.from({ length: 10 }, (_, id) => ({ id }));
      const live = new LiveSet<{ id: number }>();
      const set = new Set<{ id: number }>();
      for (const [add, k] of ops) {
        if (add) {
          live.add(items[k]);
          set.add(items[k]);
        } else assert.equal(live.delete(items[k]), set.delete(items[k]));
        assert.equal(live.size, set.size);
      }
      assert.deepEqual(new Set(live), set);
    }),
  );
});

test('members can be deleted while the set is walked, and one member can be in two sets', () => {
  const a = new LiveSet<object>();
  const b = new LiveSet<object>();
  const items = [{}, {}, {}, {}];
  for (const x of items) a.add(x);
  b.add(items[2]);
  const seen: object[] = [];
  for (const x of a) {
    seen.push(x);
    a.delete(x);
    a.delete(items[3]);
  }
  assert.equal(seen.length, 4);
  assert.equal(a.size, 0);
  assert.deepEqual([...b], [items[2]]);
  assert.ok(b.delete(items[2]));
  assert.equal(b.delete(items[2]), false);
});
