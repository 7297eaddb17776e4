import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';

test('tokens default to ES256, 300 s tokens, a one-hour secret overlap and weekly key rotation', () => {
  const r = validateConfig({});
  assert.ok(r.ok);
  const t = r.config!.tokens;
  assert.equal(t.enabled, true);
  assert.equal(t.token_path, '/oauth/token');
  assert.equal(t.jwks_path, '/.well-known/jwks.json');
  assert.equal(t.algorithm, 'ES256');
  assert.equal(t.ttl_s, 300);
  assert.equal(t.secret_overlap_s, 3600);
  assert.equal(t.key_rotation_s, 604800);
  assert.equal(t.max_request_bytes, 4096);
  assert.equal(t.cache_size, 10000);
});

test('a symmetric signing algorithm, a too short lifetime and unknown keys are rejected with their paths', () => {
  const r = validateConfig({ tokens: { algorithm: 'HS256', ttl_s: 1, extra: true } });
  assert.equal(r.ok, false);
  const paths = r.errors!.map((e) => e.path).join(',');
  for (const p of ['/tokens/algorithm', '/tokens/ttl_s', '/tokens/extra']) assert.ok(paths.includes(p), paths);
});
