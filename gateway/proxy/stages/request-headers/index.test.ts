import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHeaderOps, endToEnd, lowerOps } from './index.ts';

test('only end-to-end headers go upstream: hop-by-hop ones and those named in Connection are dropped', () => {
  const out = endToEnd({
    connection: 'x-secret, Keep-Alive',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    te: 'trailers',
    upgrade: 'websocket',
    'proxy-authorization': 'Basic x',
    expect: '100-continue',
    'x-secret': 'hop',
    accept: 'application/json',
    'x-forwarded-for': '10.0.0.1',
  });
  assert.deepEqual(out, { accept: 'application/json', 'x-forwarded-for': '10.0.0.1' });
  assert.deepEqual(endToEnd({ connection: 'close', accept: '*/*' }), { accept: '*/*' });
});

test('header edits remove, then set, then add (an added value joins what is there)', () => {
  const headers: Record<string, string | string[] | number> = { 'x-a': '1', 'x-b': '2', 'x-c': '3', 'x-list': ['a'] };
  applyHeaderOps(headers, {
    remove: ['x-a'],
    set: { 'x-b': 'set', 'x-a': 'again' },
    add: { 'x-c': 'more', 'x-list': 'b', 'x-new': 'n' },
  });
  assert.deepEqual(headers, { 'x-a': 'again', 'x-b': 'set', 'x-c': ['3', 'more'], 'x-list': ['a', 'b'], 'x-new': 'n' });
});

test('edits are matched case-insensitively, and a route without edits shares one frozen value', () => {
  assert.deepEqual(lowerOps({ add: { 'X-Add': 'a' }, set: { 'X-Set': 's' }, remove: ['X-Gone'] }), {
    add: { 'x-add': 'a' },
    set: { 'x-set': 's' },
    remove: ['x-gone'],
  });
  const none = lowerOps({ add: {}, set: {}, remove: [] });
  assert.equal(none, lowerOps({ add: {}, set: {}, remove: [] }));
  assert.ok(Object.isFrozen(none));
});
