import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Target } from './target.ts';

test('a static target is sent its origin\'s host and port as Host and has no TLS name of its own', () => {
  const t = new Target('https://api.internal:8443');
  assert.equal(t.host, 'api.internal:8443');
  assert.equal(t.servername, undefined);
  assert.equal(new Target('http://127.0.0.1:80').host, '127.0.0.1');
});

test('a target found by name is sent that name as Host, with the port unless it is the scheme\'s default, and as TLS name', () => {
  const t = new Target('https://10.0.0.7:8443', 1, 'api.internal');
  assert.equal(t.id, 'https://10.0.0.7:8443');
  assert.equal(t.host, 'api.internal:8443');
  assert.equal(t.servername, 'api.internal');
  assert.equal(new Target('https://10.0.0.7:443', 1, 'api.internal').host, 'api.internal');
  assert.equal(new Target('http://[::1]:80', 1, 'api.internal').host, 'api.internal');
  assert.equal(new Target('http://[::1]:8080', 1, 'api.internal').host, 'api.internal:8080');
});
