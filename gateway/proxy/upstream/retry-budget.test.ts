import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryBudget } from './retry-budget.ts';

/** A retry as the proxy makes one: asked, then spent when sent. */
function retry(budget: RetryBudget, now: number): boolean {
  if (!budget.hasRoom(now)) return false;
  budget.spend(now);
  return true;
}

test('allows retries up to ratio × requests plus the per-second reserve over the window', () => {
  const budget = new RetryBudget({ ratio: 0.2, minPerS: 1, windowMs: 2000 });
  for (let i = 0; i < 100; i++) budget.request(1000);
  let allowed = 0;
  for (let i = 0; i < 100; i++) if (retry(budget, 1000)) allowed++;
  // 0.2 × 100 + 1/s × 2 s
  assert.equal(allowed, 22);
});

test('with no requests, only the reserve is allowed', () => {
  const budget = new RetryBudget({ ratio: 0.5, minPerS: 0, windowMs: 1000 });
  assert.equal(retry(budget, 0), false);
});

test('the budget refills as the window moves on', () => {
  const budget = new RetryBudget({ ratio: 1, minPerS: 0, windowMs: 1000 });
  budget.request(0);
  assert.equal(retry(budget, 0), true);
  assert.equal(retry(budget, 0), false);
  budget.request(1500);
  assert.equal(retry(budget, 1500), true);
});

test('asking for room spends none: only a retry sent takes its share of the budget', () => {
  const budget = new RetryBudget({ ratio: 1, minPerS: 0, windowMs: 1000 });
  budget.request(0);
  for (let i = 0; i < 5; i++) assert.equal(budget.hasRoom(0), true);
  budget.spend(0);
  assert.equal(budget.hasRoom(0), false);
});
