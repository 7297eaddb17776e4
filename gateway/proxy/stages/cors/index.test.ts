import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';
import { compileCors, headersAllowed } from './policy.ts';

const svc = (cors: unknown) => ({
  services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: 'http://127.0.0.1:1' }] }, cors }],
});

test('cors schema: allow_origins is required, the rest defaults', () => {
  const r = validateConfig(svc({ allow_origins: ['https://a.test'] }), {});
  assert.ok(r.ok);
  assert.equal(r.config.services[0].cors!.max_age_s, 600);
  assert.deepEqual(r.config.services[0].cors!.allow_headers, ['*']);
  assert.ok(!validateConfig(svc({}), {}).ok);
  assert.ok(
    !validateConfig(svc({ allow_origins: ['https://a.test'], allow_methods: ['get'] }), {}).ok,
    'methods are upper-case tokens',
  );
});

test('origin rules: exact (scheme and port matter), anchored regex, any', () => {
  const p = compileCors({
    allow_origins: ['https://a.test', '~https://[a-z]+\\.b\\.test'],
    allow_methods: ['GET'],
    allow_headers: ['X-One'],
    expose_headers: [],
    allow_credentials: false,
    max_age_s: 1,
  });
  assert.ok(p.allowsOrigin('https://a.test'));
  assert.ok(p.allowsOrigin('HTTPS://A.TEST'), 'origins compare case-insensitively');
  assert.ok(!p.allowsOrigin('http://a.test'));
  assert.ok(!p.allowsOrigin('https://a.test:8443'));
  assert.ok(p.allowsOrigin('https://x.b.test'));
  assert.ok(!p.allowsOrigin('https://x.b.test.evil.test'), 'regexes match the whole origin');
  assert.ok(!p.allowsOrigin('null'));
  assert.equal(p.wildcard, undefined);
  assert.deepEqual(p.varyOnly, { vary: 'Origin' });
  assert.ok(headersAllowed(p, 'x-one'));
  assert.ok(headersAllowed(p, ' X-One , '));
  assert.ok(!headersAllowed(p, 'x-one, x-two'));
  const any = compileCors({
    allow_origins: ['*'],
    allow_methods: ['*'],
    allow_headers: ['*'],
    expose_headers: ['X-Total'],
    allow_credentials: false,
    max_age_s: 1,
  });
  assert.ok(any.allowsOrigin('https://whatever.test'));
  assert.deepEqual(any.wildcard, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'X-Total' });
  assert.ok(headersAllowed(any, 'anything'));
});
