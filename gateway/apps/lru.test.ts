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
