import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from './load.ts';
import { exposedSettings } from './exposed.ts';

const issuer = (jwks_url: string) => ({ issuer: `iss-${jwks_url}`, jwks_url, audience: ['api'] });
const https = (verify: boolean) => ({ targets: [{ url: 'https://127.0.0.1:1' }], tls: { verify } });

test('plain-HTTP JWKS from another machine and unchecked upstream certificates are named by field', () => {
  const r = validateConfig({
    services: [
      {
        name: 'a',
        routes: [{ paths: ['/a'] }],
        auth: {
          type: 'jwt',
          issuers: [
            issuer('http://keycloak.internal:8080/certs'),
            issuer('https://idp.example.com/jwks'),
            issuer('http://127.0.0.1:9000/jwks'),
            issuer('http://localhost/jwks'),
          ],
        },
        upstream: https(false),
        canary: { groups: [{ name: 'next', weight: 1, upstream: https(false) }] },
      },
      { name: 'b', routes: [{ paths: ['/b'] }], upstream: https(true) },
    ],
  });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(
    exposedSettings(r.config).map((e) => e.path),
    [
      '/services/0/auth/issuers/0/jwks_url',
      '/services/0/upstream/tls/verify',
      '/services/0/canary/groups/0/upstream/tls/verify',
    ],
  );
});
