import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lru } from './lru.ts';

test('the cache never holds more than max entries and evicts the oldest unused one first', () => {
  const l = new Lru<string, number>(3);
  l.set('a', 1);
  l.set('b', 2);
  l.set('c', 3);
  assert.equal(l.get('a'), 1);
  l.set('d', 4);
  assert.equal(l.size, 3);
  assert.equal(l.get('b'), undefined, 'b was the oldest entry not used since its insert');
  assert.equal(l.get('a'), 1, 'a was used, so it got a second chance');
  for (let i = 0; i < 100; i++) l.set(`k${i}`, i);
  assert.equal(l.size, 3);
  assert.ok(l.hits >= 2 && l.misses >= 1);
});

test('max 0 keeps nothing', () => {
  const l = new Lru<string, number>(0);
  l.set('a', 1);
  assert.equal(l.get('a'), undefined);
  assert.equal(l.size, 0);
});

test('evictions counts entries dropped for room, not entries given a second chance', () => {
  const lru = new Lru<string, number>(2);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.get('a');
  lru.set('c', 3); // a is marked and moves to the back; b goes
  assert.equal(lru.evictions, 1);
  assert.equal(lru.get('b'), undefined);
  lru.set('d', 4); // a lost its mark above, so it goes now
  assert.equal(lru.evictions, 2);
  assert.equal(lru.get('a'), undefined);
});
