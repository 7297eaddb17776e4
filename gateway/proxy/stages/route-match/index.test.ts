import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostOf, splitAbsoluteForm } from './index.ts';

test('hostOf strips the port and survives port-less, IPv6 and missing hosts', () => {
  assert.equal(hostOf('api.example.com:8080'), 'api.example.com');
  assert.equal(hostOf('example.com'), 'example.com');
  assert.equal(hostOf('[::1]:8080'), '[::1]');
  assert.equal(hostOf('[::1]'), '[::1]');
  assert.equal(hostOf(undefined), '');
  assert.equal(hostOf(''), '');
});

test('absolute-form targets split into authority and origin-form', () => {
  assert.deepEqual(splitAbsoluteForm('http://a.test:81/x?y=1'), { authority: 'a.test:81', path: '/x?y=1' });
  assert.deepEqual(splitAbsoluteForm('http://a.test'), { authority: 'a.test', path: '/' });
  assert.deepEqual(splitAbsoluteForm('http://a.test?q'), { authority: 'a.test', path: '/?q' });
  assert.equal(splitAbsoluteForm('*'), undefined);
  assert.equal(splitAbsoluteForm('http://user@a.test/'), undefined);
  assert.equal(splitAbsoluteForm('ftp://a.test/'), undefined);
  assert.equal(splitAbsoluteForm('http://a..test/'), undefined, 'no valid host');
});
