import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { HeadFlush } from './head-flush.ts';

/** A held head that records the turn it was flushed in, unless a chunk took it along first. */
function head(turns: { now: number }, flushedAt: Map<string, number>, name: string) {
  let held = true;
  return {
    flushHeldHead() {
      if (held) {
        held = false;
        flushedAt.set(name, turns.now);
      }
    },
    tookAlong() {
      held = false;
    },
  };
}

test(
  'a held head is sent two turns of the loop after it ' + 'arrived, once; one taken along by its first chunk is not',
  async () => {
    const flush = new HeadFlush();
    const turns = { now: 0 };
    const flushedAt = new Map<string, number>();
    const a = head(turns, flushedAt, 'a');
    const b = head(turns, flushedAt, 'b');
    flush.hold(a);
    flush.hold(b);
    b.tookAlong();
    await nextTurn();
    turns.now = 1;
    assert.deepEqual([...flushedAt], [], "not in the turn it arrived: a broken body's error comes at its end");
    // One arriving a turn later waits its own two turns.
    const c = head(turns, flushedAt, 'c');
    flush.hold(c);
    await nextTurn();
    turns.now = 2;
    assert.deepEqual([...flushedAt], [['a', 1]]);
    await nextTurn();
    assert.deepEqual(
      [...flushedAt],
      [
        ['a', 1],
        ['c', 2],
      ],
    );
    // Nothing is left scheduled: a later head starts the turns again.
    const d = head(turns, flushedAt, 'd');
    flush.hold(d);
    await nextTurn();
    await nextTurn();
    assert.equal(flushedAt.get('d'), 2);
  },
);
