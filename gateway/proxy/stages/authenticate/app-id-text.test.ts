import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppIdText } from './app-id-text.ts';

test('an app id from a credential is 1–256 characters of printable ASCII, spaces inside only', () => {
  for (const id of ['acme', 'user@example.test|42', 'spiffe://ex.test/ns/a b', 'a'.repeat(256)])
    assert.equal(isAppIdText(id), true, id);
  for (const id of ['', ' a', 'a ', 'x\r\ny', 'a\u0000b', '\ud800', 'ü', '张三', 'a'.repeat(257), 'tab\there'])
    assert.equal(isAppIdText(id), false, JSON.stringify(id));
});
