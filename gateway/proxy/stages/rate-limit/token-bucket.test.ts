import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from './token-bucket.ts';

test('a bucket admits its burst at once, then exactly the rate', () => {
  const b = new TokenBucket(10);
  let admitted = 0;
  for (let i = 0; i < 50; i++) if (b.take('k', 1000, 10, 20) >= 0) admitted++;
  assert.equal(admitted, 20);
  // 10/s: one token per 100 ms; at 1050 ms none yet, at 1100 ms exactly one.
  assert.ok(b.take('k', 1050, 10, 20) < 0);
  assert.equal(b.take('k', 1100, 10, 20), 0);
  assert.ok(b.take('k', 1100, 10, 20) < 0);
  // Over the next 10 s, 100 tokens arrive: one request every 10 ms gets exactly 100 through.
  admitted = 0;
  for (let t = 1110; t <= 11100; t += 10) if (b.take('k', t, 10, 20) >= 0) admitted++;
  assert.equal(admitted, 100);
});

test('a refused take says how long until the next token', () => {
  const b = new TokenBucket(10);
  assert.equal(b.take('k', 0, 2, 1), 0);
  assert.equal(b.take('k', 0, 2, 1), -500);
  assert.equal(b.take('k', 250, 2, 1), -250);
});

test('a long pause refills to the burst, never beyond', () => {
  const b = new TokenBucket(10);
  for (let i = 0; i < 5; i++) b.take('k', 0, 1, 5);
  let admitted = 0;
  for (let i = 0; i < 20; i++) if (b.take('k', 3_600_000, 1, 5) >= 0) admitted++;
  assert.equal(admitted, 5);
});

test('keys are independent and the least recently used is dropped beyond maxKeys', () => {
  const b = new TokenBucket(2);
  assert.equal(b.take('a', 0, 1, 1), 0);
  assert.equal(b.take('b', 0, 1, 1), 0);
  assert.ok(b.take('a', 0, 1, 1) < 0); // touches a: b is now the oldest
  assert.equal(b.take('c', 0, 1, 1), 0);
  assert.equal(b.size, 2);
  assert.equal(b.evictions, 1);
  assert.ok(b.take('a', 0, 1, 1) < 0, 'a was kept');
  assert.equal(b.take('b', 0, 1, 1), 0, 'b was dropped and comes back full');
});
