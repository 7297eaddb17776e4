import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DailyQuota } from './daily-quota.ts';
import { ZoneDays } from './zone-day.ts';

test('a quota admits its limit per day and starts over at the next day', () => {
  const q = new DailyQuota(10);
  assert.equal(q.reserve('k', 0, 3), 2);
  assert.equal(q.reserve('k', 0, 3), 1);
  assert.equal(q.reserve('k', 0, 3), 0);
  assert.equal(q.reserve('k', 0, 3), -1);
  assert.equal(q.used('k', 0), 3);
  assert.equal(q.reserve('k', 86_400_000, 3), 2);
});

test('a refunded unit can be used again, but not once its day is over', () => {
  const q = new DailyQuota(10);
  q.reserve('k', 0, 1);
  q.refund('k', 0);
  assert.equal(q.reserve('k', 0, 1), 0);
  q.reserve('k', 86_400_000, 1);
  q.refund('k', 0);
  assert.equal(q.used('k', 86_400_000), 1);
});

test('UTC days start at 00:00 UTC', () => {
  const days = new ZoneDays('UTC');
  const t = Date.UTC(2025, 2, 30, 23, 59, 59, 999);
  assert.equal(days.startOf(t), Date.UTC(2025, 2, 30));
  assert.equal(days.endOf(t), Date.UTC(2025, 2, 31));
  assert.equal(days.startOf(t + 1), Date.UTC(2025, 2, 31));
});

test('a QPD day in Asia/Shanghai starts at 16:00 UTC', () => {
  const days = new ZoneDays('Asia/Shanghai');
  assert.equal(days.startOf(Date.UTC(2025, 5, 1, 15, 59, 59, 999)), Date.UTC(2025, 4, 31, 16));
  assert.equal(days.startOf(Date.UTC(2025, 5, 1, 16)), Date.UTC(2025, 5, 1, 16));
  assert.equal(days.endOf(Date.UTC(2025, 5, 1, 16)), Date.UTC(2025, 5, 2, 16));
});

test('a DST day in Europe/Berlin is 23 hours long and the quota resets at local midnight', () => {
  const days = new ZoneDays('Europe/Berlin');
  // 2025-03-30: clocks go from 02:00 CET to 03:00 CEST.
  const noon = Date.UTC(2025, 2, 30, 10);
  assert.equal(days.startOf(noon), Date.UTC(2025, 2, 29, 23));
  assert.equal(days.endOf(noon), Date.UTC(2025, 2, 30, 22));
  const q = new DailyQuota(10);
  const clock = [Date.UTC(2025, 2, 30, 21, 59, 59), Date.UTC(2025, 2, 30, 22, 0, 0)];
  assert.equal(q.reserve('app', days.startOf(clock[0]), 1), 0);
  assert.equal(q.reserve('app', days.startOf(clock[0]), 1), -1, 'still 23:59:59 in Berlin');
  assert.equal(q.reserve('app', days.startOf(clock[1]), 1), 0, 'a new day at 00:00 Berlin time');
});

test('a day that falls back in America/New_York is 25 hours long', () => {
  const days = new ZoneDays('America/New_York');
  const t = Date.UTC(2025, 10, 2, 12);
  assert.equal(days.endOf(t) - days.startOf(t), 25 * 3_600_000);
  assert.equal(days.startOf(t), Date.UTC(2025, 10, 2, 4));
});
