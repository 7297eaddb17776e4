import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriteWaiters } from './write-waiters.ts';

test('releases the waiters whose records are written, in order, and keeps the rest', () => {
  const waiters = new WriteWaiters(undefined);
  const ran: number[] = [];
  for (const end of [10, 20, 30]) waiters.add(end, () => ran.push(end));
  waiters.release(20);
  assert.deepEqual(ran, [10, 20]);
  waiters.release(25);
  assert.deepEqual(ran, [10, 20]);
  waiters.release(30);
  assert.deepEqual(ran, [10, 20, 30]);
});

test('a waiter added by a callback during a release waits for a later release', () => {
  const waiters = new WriteWaiters(undefined);
  const ran: string[] = [];
  waiters.add(10, () => {
    ran.push('first');
    waiters.add(40, () => ran.push('added'));
  });
  waiters.release(10);
  assert.deepEqual(ran, ['first']);
  waiters.release(40);
  assert.deepEqual(ran, ['first', 'added']);
});

test('stays small when every release leaves one waiter behind, and loses none of them', () => {
  const waiters = new WriteWaiters(undefined);
  let released = 0;
  let end = 0;
  waiters.add(++end, () => released++);
  for (let i = 0; i < 10_000; i++) {
    waiters.add(++end, () => released++);
    waiters.release(end - 1);
  }
  assert.equal(released, 10_000);
  assert.ok(waiters.held <= 1025, `holds ${waiters.held} entries for one waiting`);
  waiters.release(Infinity);
  assert.equal(released, 10_001);
  assert.equal(waiters.held, 0);
});

test('a callback that throws is logged and the others still run', () => {
  const warned: string[] = [];
  const waiters = new WriteWaiters({ warn: (_details, message) => warned.push(message) });
  let ran = 0;
  waiters.add(1, () => {
    throw new Error('boom');
  });
  waiters.add(2, () => ran++);
  waiters.release(Infinity);
  assert.equal(ran, 1);
  assert.deepEqual(warned, ['segment log: a write callback threw']);
});
