import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaOf, emptyDelta, mergeDelta, pruneDelta, scriptArgs } from './live-delta.ts';
import type { LiveEvent } from './live-counters.ts';
import type { LiveKeys } from './live-delta.ts';

const NOW_MS = Date.UTC(2026, 10, 22, 18, 30, 0);
const keys: LiveKeys = {
  dayKey: (s, kind) => `day:${s}:${kind}`,
  hourKey: (s, kind) => `hour:${s}:${kind}`,
  secondKey: (s) => `qps:${s}`,
  serviceField: (app, service) => `${app}|${service}`,
};

function events(specs: [startMs: number, appId: string, service: string][]): LiveEvent[] {
  return specs.map(([startMs, appId, service], offset) => ({ offset, event: { startMs, appId, service } }));
}

test('counts a batch per day, hour and second cell, leaving out buckets live stats no longer reads', () => {
  const d = deltaOf(
    events([
      [NOW_MS - 1000, 'a', 'x'],
      [NOW_MS - 1000, 'a', 'x'],
      [NOW_MS - 2000, 'a', 'y'],
      [NOW_MS - 3 * 3600_000, 'b', 'x'], // an older hour of today: day only
      [NOW_MS - 3 * 86_400_000, 'b', 'x'], // three days ago: nowhere
    ]),
    NOW_MS,
  );
  assert.equal(d.events, 5);
  // days: a/x a/y b/x; hours: a/x a/y; seconds: two.
  assert.equal(d.cells, 7);
  const { keys: k, args } = scriptArgs(d, keys);
  const dayS = Date.UTC(2026, 10, 22) / 1000;
  const hourS = Date.UTC(2026, 10, 22, 18) / 1000;
  assert.deepEqual(k.slice(0, 4), [
    `day:${dayS}:app`,
    `day:${dayS}:service`,
    `hour:${hourS}:app`,
    `hour:${hourS}:service`,
  ]);
  assert.deepEqual(args.slice(0, 5), [172_800, 'hash', 2, 'a', 3]);
});

test('merging adds into existing cells and refuses new cells beyond the budget, returning their requests', () => {
  const into = deltaOf(events([[NOW_MS, 'a', 'x']]), NOW_MS);
  const from = deltaOf(
    events([
      [NOW_MS, 'a', 'x'],
      [NOW_MS, 'b', 'x'],
      [NOW_MS, 'b', 'x'],
    ]),
    NOW_MS,
  );
  // b/x is new in both the day and the hour: one cell allowed, the other's 2 requests refused.
  const refused = mergeDelta(into, from, 1);
  assert.equal(refused, 2);
  assert.equal(into.events, 4);
  const dayS = Date.UTC(2026, 10, 22) / 1000;
  assert.equal(into.days.get(dayS)?.get('a')?.get('x'), 2);
  assert.equal(into.days.get(dayS)?.get('b')?.get('x'), 2);
  assert.equal(into.hours.get(Date.UTC(2026, 10, 22, 18) / 1000)?.get('b'), undefined);
});

test('pruning drops the buckets that aged out while waiting and keeps the cell count right', () => {
  const d = emptyDelta();
  mergeDelta(d, deltaOf(events([[NOW_MS - 1000, 'a', 'x']]), NOW_MS), Infinity);
  assert.equal(d.cells, 3);
  // Two hours and a minute later: the hour and the second are gone, the day stays.
  pruneDelta(d, NOW_MS + 2 * 3600_000 + 60_000);
  assert.equal(d.cells, 1);
  assert.equal(d.hours.size, 0);
  assert.equal(d.seconds.size, 0);
  assert.equal(d.days.size, 1);
});
