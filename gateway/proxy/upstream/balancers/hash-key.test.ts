import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findValue, keyReader } from './hash-key.ts';
import { request } from './test-fixtures.ts';

test('the client key unwraps IPv4-mapped IPv6 addresses and leaves other addresses alone', () => {
  const key = keyReader(undefined);
  const cases = [
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['1.2.3.4', '1.2.3.4'],
    ['::1', '::1'],
    ['::ffff:abcd', '::ffff:abcd'],
    ['2001:db8::ffff:1', '2001:db8::ffff:1'],
  ];
  for (const [ip, expected] of cases) assert.equal(key(request(ip)), expected, ip);
});

test('finds a cookie only at the start of a pair', () => {
  assert.equal(findValue('xid=1; id=2', 'id=', ';', true), '2');
  assert.equal(findValue('id=1; xid=2', 'id=', ';', true), '1');
  assert.equal(findValue('a=1;id=3 ;b=4', 'id=', ';', true), '3');
  assert.equal(findValue('a=1;  id=5', 'id=', ';', true), '5');
  assert.equal(findValue('a=id=6', 'id=', ';', true), '');
  assert.equal(findValue('a=1', 'id=', ';', true), '');
});

test('finds a query argument only at the start of a pair', () => {
  assert.equal(findValue('pid=1&id=2', 'id=', '&', false), '2');
  assert.equal(findValue('id=1&id=2', 'id=', '&', false), '1');
  assert.equal(findValue('q=a%20id=3', 'id=', '&', false), '');
});

test('reads the configured header whatever case the config spells it in', () => {
  const read = keyReader({ source: 'header', name: 'X-Tenant' });
  assert.equal(read(request('10.0.0.1', { 'x-tenant': 'acme' })), 'acme');
  assert.equal(read(request('10.0.0.1', { 'x-tenant': ['first', 'second'] })), 'first');
});

test('falls back to the normalised client IP for a missing or empty key', () => {
  const req = request('::ffff:10.0.0.9', { 'x-tenant': '', cookie: 'sid=' }, '', 'id=');
  assert.equal(keyReader({ source: 'header', name: 'x-tenant' })(req), '10.0.0.9');
  assert.equal(keyReader({ source: 'cookie', name: 'sid' })(req), '10.0.0.9');
  assert.equal(keyReader({ source: 'query', name: 'id' })(req), '10.0.0.9');
  assert.equal(keyReader({ source: 'path' })(req), '10.0.0.9');
  assert.equal(keyReader({ source: 'app' })(req), '10.0.0.9');
  assert.equal(keyReader({ source: 'header' })(req), '10.0.0.9');
  assert.equal(keyReader(undefined)(req), '10.0.0.9');
});

test('hashes on the authenticated app, whatever address or credential it calls from', () => {
  const read = keyReader({ source: 'app' });
  assert.equal(read(request('10.0.0.1', {}, '/', '', 'app_acme')), 'app_acme');
  assert.equal(read(request('10.0.0.2', { 'x-api-key': 'other' }, '/x', '', 'app_acme')), 'app_acme');
});
