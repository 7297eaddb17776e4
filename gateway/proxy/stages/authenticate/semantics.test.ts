import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../control/config/load.ts';

const target = { targets: [{ url: 'http://127.0.0.1:1' }] };

/** The paths and messages a config with this one service is refused with ([] when accepted). */
function errorsOf(service: Record<string, unknown>) {
  const r = validateConfig({ services: [{ name: 'a', routes: [{ paths: ['/'] }], ...service }] }, {});
  return r.ok ? [] : r.errors;
}

const hashOn = (name: string) => ({ ...target, balancer: 'consistent_hash', hash_on: { source: 'header', name } });
const canary = (sticky: object, groupHashOn?: object) => ({
  stable_weight: 1,
  groups: [{ name: 'next', weight: 1, upstream: { ...target, hash_on: groupHashOn } }],
  sticky,
});

test('a hash or sticky key on the API key header is refused: authentication removes it before the pick', () => {
  const errs = errorsOf({
    auth: { type: 'api_key', api_key_header: 'X-Key' },
    upstream: hashOn('x-key'),
    canary: canary({ source: 'header', name: 'X-KEY' }, { source: 'header', name: 'x-key' }),
  });
  assert.deepEqual(
    errs.map((e) => e.path),
    [
      '/services/0/upstream/hash_on/name',
      '/services/0/canary/groups/0/upstream/hash_on/name',
      '/services/0/canary/sticky/name',
    ],
  );
  assert.match(errs[0].message, /x-key carries the credential.*hash_on\.source: app/);
  assert.match(errs[2].message, /sticky\.source: app/);
});

test('Authorization is refused as a key only when hide_credentials removes it', () => {
  const errs = errorsOf({ auth: { type: 'jwt', hide_credentials: true }, upstream: hashOn('Authorization') });
  assert.deepEqual(
    errs.map((e) => e.path),
    ['/services/0/upstream/hash_on/name'],
  );
  assert.deepEqual(errorsOf({ auth: { type: 'jwt' }, upstream: hashOn('authorization') }), []);
});

test('other headers, the app, and services without the credential are accepted', () => {
  assert.deepEqual(errorsOf({ auth: { type: 'api_key' }, upstream: hashOn('x-tenant') }), []);
  assert.deepEqual(errorsOf({ auth: { type: 'api_key' }, upstream: { ...target, hash_on: { source: 'app' } } }), []);
  assert.deepEqual(errorsOf({ upstream: hashOn('x-api-key') }), []);
});
