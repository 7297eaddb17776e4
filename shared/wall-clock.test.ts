import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DRIFT_MS, WallClock, wallClock } from './wall-clock.ts';

/** A system clock and a monotonic clock the test moves by hand. */
function clocks(startMs: number) {
  const c = { date: startMs, perf: 1000 };
  const clock = new WallClock(
    startMs - 1000,
    () => c.date,
    () => c.perf,
  );
  const advance = (ms: number) => {
    c.date += ms;
    c.perf += ms;
  };
  return { c, clock, advance };
}

test('a step of the system clock is followed at the next check; durations between checks stay exact', () => {
  const day = Date.UTC(2026, 11, 3);
  const { c, clock, advance } = clocks(day + 23 * 3600_000 + 59 * 60_000); // 23:59 UTC
  const start = c.perf;
  advance(250.5);
  assert.equal(clock.at(c.perf) - clock.at(start), 250.5);
  assert.equal(clock.check(), 0, 'no drift, no move');
  // NTP steps the clock 2 hours forward (it was wrong at boot); the monotonic clock does not move.
  c.date += 2 * 3600_000;
  assert.equal(clock.at(c.perf), day + 23 * 3600_000 + 59 * 60_000 + 250.5, 'before the check: the old time');
  assert.equal(clock.check(), 2 * 3600_000);
  assert.equal(clock.at(c.perf), c.date, 'after it: the system clock, on the next day');
  assert.equal(clock.now(), c.date);
  // And back (a clock set ahead by hand, corrected).
  c.date -= 3 * 3600_000;
  assert.equal(clock.check(), -3 * 3600_000);
  assert.equal(clock.at(c.perf), c.date);
});

test('a drift within MAX_DRIFT_MS (whole-millisecond Date.now(), a slewing NTP) leaves the origin where it is', () => {
  const { c, clock, advance } = clocks(Date.UTC(2026, 11, 3, 12));
  advance(10);
  const before = clock.at(c.perf);
  c.date += MAX_DRIFT_MS;
  assert.equal(clock.check(), 0);
  assert.equal(clock.at(c.perf), before);
  c.date += 1;
  assert.equal(clock.check(), MAX_DRIFT_MS + 1);
});

test("this thread's clock agrees with Date.now() within MAX_DRIFT_MS", () => {
  assert.ok(Math.abs(wallClock.now() - Date.now()) <= MAX_DRIFT_MS + 1);
  assert.ok(Math.abs(wallClock.at(performance.now()) - (performance.timeOrigin + performance.now())) <= MAX_DRIFT_MS);
});
