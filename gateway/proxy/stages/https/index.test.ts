import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestContext } from '../../context.ts';
import type { ListenerConfig } from '../../listeners/schema.ts';
import { HTTP2_DEFAULTS } from '../../listeners/http2-defaults.ts';
import { https, httpsLocation } from './index.ts';

test('the redirect keeps host, path and query, and drops the port unless it is not 443', () => {
  assert.equal(httpsLocation('api.example.com', 443, '/a/b?c=%2F'), 'https://api.example.com/a/b?c=%2F');
  assert.equal(httpsLocation('api.example.com:8080', 8443, '/'), 'https://api.example.com:8443/');
  assert.equal(httpsLocation('[::1]:8080', 443, '/x'), 'https://[::1]/x');
});

function contextOn(listener: ListenerConfig): RequestContext & { added: unknown[] } {
  const added: unknown[] = [];
  return {
    listener,
    added,
    addResponseHeaders: (h: unknown) => added.push(h),
  } as unknown as RequestContext & { added: unknown[] };
}

test('hsts becomes one Strict-Transport-Security value per listener config, the same object for every request', () => {
  const handler = https.init({} as never)!;
  const listener: ListenerConfig = {
    name: 'public',
    listen: '127.0.0.1:0',
    http2: HTTP2_DEFAULTS,
    hsts: { max_age_s: 31536000, include_subdomains: true, preload: true },
  };
  const a = contextOn(listener);
  const b = contextOn(listener);
  assert.equal(handler(a), undefined);
  handler(b);
  assert.deepEqual(a.added, [{ 'strict-transport-security': 'max-age=31536000; includeSubDomains; preload' }]);
  assert.equal(a.added[0], b.added[0]);
  const plain = contextOn({ name: 'p', listen: '127.0.0.1:0', http2: HTTP2_DEFAULTS });
  handler(plain);
  assert.deepEqual(plain.added, [], 'nothing on a listener without hsts');
});
