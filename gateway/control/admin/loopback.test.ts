import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopback } from './loopback.ts';

test('loopback hosts are recognised in every spelling', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) {
    assert.equal(isLoopback(host), true, host);
  }
});

test('wildcard and external hosts are not loopback', () => {
  for (const host of ['0.0.0.0', '::', '[::]', '10.0.0.1', '127.example.com', 'example.com', '', '::ffff:10.0.0.1']) {
    assert.equal(isLoopback(host), false, host);
  }
});
