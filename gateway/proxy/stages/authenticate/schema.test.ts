import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';

const svc = (auth: unknown) => ({
  services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: 'http://127.0.0.1:9' }] }, auth }],
});

test('auth defaults to no authentication with the x-tollgate-app-id header and a 5 s clock tolerance', () => {
  const r = validateConfig(svc({}));
  assert.ok(r.ok);
  const auth = r.config!.services[0].auth!;
  assert.equal(auth.type, 'none');
  assert.equal(auth.app_header, 'x-tollgate-app-id');
  assert.equal(auth.api_key_header, 'x-api-key');
  assert.equal(auth.clock_tolerance_s, 5);
  assert.equal(auth.max_token_bytes, 8192);
  assert.equal(auth.gateway_tokens, true);
  assert.deepEqual(auth.anonymous_paths, []);
});

test('an external issuer needs a JWKS URL and an audience; algorithms default to RS256 and ES256', () => {
  const ok = validateConfig(
    svc({ type: 'jwt', issuers: [{ issuer: 'https://idp', jwks_url: 'http://127.0.0.1:1/jwks', audience: ['api'] }] }),
  );
  assert.ok(ok.ok);
  assert.deepEqual(ok.config!.services[0].auth!.issuers[0].algorithms, ['RS256', 'ES256']);
  const bad = validateConfig(svc({ type: 'jwt', issuers: [{ issuer: 'https://idp', audience: [] }] }));
  assert.equal(bad.ok, false);
  const paths = bad.errors!.map((e) => e.path);
  assert.ok(
    paths.some((p) => p.startsWith('/services/0/auth/issuers/0')),
    paths.join(','),
  );
});

test('HS256 and none are not accepted algorithms, so a public key can never be an HMAC secret', () => {
  for (const alg of ['HS256', 'none']) {
    const r = validateConfig(
      svc({
        type: 'jwt',
        issuers: [{ issuer: 'i', jwks_url: 'http://127.0.0.1:1/', audience: ['a'], algorithms: [alg] }],
      }),
    );
    assert.equal(r.ok, false, alg);
    assert.ok(
      r.errors!.some((e) => e.path.startsWith('/services/0/auth/issuers/0/algorithms')),
      JSON.stringify(r.errors),
    );
  }
});

test(
  'an unknown auth type, a bad header name and an ' + 'anonymous path without a slash are rejected with their paths',
  () => {
    const r = validateConfig(svc({ type: 'basic', app_header: 'bad header', anonymous_paths: ['health'] }));
    assert.equal(r.ok, false);
    const paths = r.errors!.map((e) => e.path).join(',');
    for (const p of ['/services/0/auth/type', '/services/0/auth/app_header', '/services/0/auth/anonymous_paths/0'])
      assert.ok(paths.includes(p), paths);
  },
);

test('mtls by an email or URI subjectAltName needs require_app false: no app id can hold one', () => {
  for (const from of ['san_email', 'san_uri']) {
    const r = validateConfig(svc({ type: 'mtls', mtls: { app_from: from } }));
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.errors?.map((e) => e.path),
      ['/services/0/auth/mtls/require_app'],
    );
    assert.match(r.errors![0].message, /is never an app id/);
    assert.ok(validateConfig(svc({ type: 'mtls', mtls: { app_from: from, require_app: false } })).ok);
  }
  assert.ok(validateConfig(svc({ type: 'mtls', mtls: { app_from: 'san_dns' } })).ok, 'a one-label DNS name can be');
});
