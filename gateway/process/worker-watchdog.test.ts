import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WATCHDOG_TICK_MS, WorkerWatchdog } from './worker-watchdog.ts';

/** A watchdog on a hand-moved clock, looking every WATCHDOG_TICK_MS as its timer would. */
function rig(limitMs: number) {
  let now = 0;
  let limit = limitMs;
  const killed: Array<[number, number]> = [];
  const dog = new WorkerWatchdog(
    () => limit,
    (id, silentMs) => killed.push([id, silentMs]),
    () => now,
  );
  const advance = (ms: number, hear: number[] = []) => {
    for (let t = 0; t < ms; t += WATCHDOG_TICK_MS) {
      now += WATCHDOG_TICK_MS;
      for (const id of hear) dog.heard(id);
      dog.look();
    }
  };
  return {
    dog,
    killed,
    advance,
    killedIds: () => killed.map(([id]) => id),
    setLimit: (ms: number) => {
      limit = ms;
    },
    jump: (ms: number) => {
      now += ms;
    },
  };
}

test('a worker silent for the limit is killed once, and one that keeps reporting is not', () => {
  const { dog, killed, advance } = rig(2000);
  dog.heard(1);
  dog.heard(2);
  advance(1500, [2]);
  assert.deepEqual(killed, [], 'silent 1.5 s of 2');
  advance(500, [2]);
  assert.deepEqual(killed, [[1, 2000]]);
  advance(5000, [2]);
  assert.deepEqual(killed, [[1, 2000]], 'worker 1 is not killed again, worker 2 never');
});

test('a worker never heard from (still starting) and one forgotten (exited) are not watched', () => {
  const { dog, killed, advance } = rig(2000);
  dog.heard(1);
  dog.forget(1);
  advance(10_000);
  assert.deepEqual(killed, []);
});

test('0 turns it off, and a reload that sets a limit again applies at the next look', () => {
  const { dog, killed, advance, setLimit } = rig(0);
  dog.heard(1);
  advance(20_000);
  assert.deepEqual(killed, []);
  setLimit(2000);
  advance(WATCHDOG_TICK_MS);
  assert.equal(killed.length, 1, 'silent for 20 s, past the new limit');
});

test('a look that comes late (the primary itself was blocked) kills nobody and starts every worker afresh', () => {
  const { dog, killed, advance, jump, killedIds } = rig(2000);
  dog.heard(1);
  advance(1000);
  // The primary's loop was blocked for 3 s: what worker 1 sent meanwhile is still unread.
  jump(3000);
  advance(WATCHDOG_TICK_MS);
  assert.deepEqual(killed, [], 'not killed on the late look');
  advance(1500);
  assert.deepEqual(killed, [], 'and given a whole limit from there');
  advance(500);
  assert.deepEqual(killedIds(), [1], 'a worker silent after that is killed as usual');
});
