import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { call, startAuthRig, type AuthRig } from './auth-rig.ts';

// An external issuer that rotates its signing key: the JWKS it serves changes under the gateway.
let rig: AuthRig;
let idp: Server;
let served: JWK[] = [];
let fetches = 0;
let down = false;
const COOLDOWN_MS = 1000;
const MAX_AGE_MS = 1000;

async function key(kid: string) {
  const pair = await generateKeyPair('ES256', { extractable: true });
  return { kid, pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' } as JWK };
}

function token(k: Awaited<ReturnType<typeof key>>, jti: string) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: 'https://rotating.test',
    aud: 'orders',
    sub: 'rotating-app',
    iat: now,
    exp: now + 120,
    jti,
  })
    .setProtectedHeader({ alg: 'ES256', kid: k.kid })
    .sign(k.pair.privateKey);
}

before(async () => {
  idp = createServer((_req, res) => {
    fetches++;
    if (down) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  rig = await startAuthRig({
    type: 'jwt',
    gateway_tokens: false,
    issuers: [
      {
        issuer: 'https://rotating.test',
        jwks_url: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`,
        audience: ['orders'],
        algorithms: ['ES256'],
        jwks_cooldown_ms: COOLDOWN_MS,
        jwks_max_age_ms: MAX_AGE_MS,
      },
    ],
  });
});
after(async () => {
  idp.closeAllConnections();
  idp.close();
  await rig?.close();
});

test(
  'an external issuer rotates its key: the new kid verifies after a ' +
    'refetch, the withdrawn one is refused, refetches are rate-limited',
  async () => {
    const k1 = await key('k1');
    const k2 = await key('k2');
    served = [k1.jwk];
    let r = await call(rig.gw.url, '/x', { authorization: `Bearer ${await token(k1, 'a')}` });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(fetches, 1);

    // Rotation: the issuer now publishes only k2.
    served = [k2.jwk];
    // Within the cooldown an unknown kid does not refetch: refused, and the issuer is not hammered.
    r = await call(rig.gw.url, '/x', { authorization: `Bearer ${await token(k2, 'b')}` });
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.code, 'GW_ERR_TOKEN_INVALID');
    assert.equal(fetches, 1, 'no refetch inside the cooldown');

    await new Promise((res) => setTimeout(res, COOLDOWN_MS + 100));
    r = await call(rig.gw.url, '/x', { authorization: `Bearer ${await token(k2, 'c')}` });
    assert.equal(r.status, 200, `new key after the cooldown: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.headers['x-tollgate-app-id'], 'rotating-app');
    assert.equal(fetches, 2, 'one refetch for the new kid');

    // A fresh token under the withdrawn key is refused.
    r = await call(rig.gw.url, '/x', { authorization: `Bearer ${await token(k1, 'd')}` });
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.code, 'GW_ERR_TOKEN_INVALID');
  },
);

test('a token verified and cached before its key was withdrawn is refused within twice jwks_max_age_ms', async () => {
  const k3 = await key('k3');
  served = [k3.jwk];
  await new Promise((res) => setTimeout(res, COOLDOWN_MS + 100));
  const leaked = `Bearer ${await token(k3, 'e')}`;
  for (let i = 0; i < 2; i++) {
    const r = await call(rig.gw.url, '/x', { authorization: leaked });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  // The issuer withdraws k3 (its private key leaked); the token itself is valid for two more minutes.
  served = [(await key('k4')).jwk];
  const before = fetches;
  await new Promise((res) => setTimeout(res, 2 * MAX_AGE_MS + 200));
  const r = await call(rig.gw.url, '/x', { authorization: leaked });
  assert.equal(r.status, 401, `withdrawn key still honoured from the cache: ${JSON.stringify(r.json)}`);
  assert.equal(r.json.code, 'GW_ERR_TOKEN_INVALID');
  assert.equal(fetches, before + 1, 'one refetch of the stale keys');
});

test('keys older than jwks_max_age_ms that cannot be refetched verify nothing: refused, not used stale', async () => {
  const k5 = await key('k5');
  served = [k5.jwk];
  await new Promise((res) => setTimeout(res, COOLDOWN_MS + 100));
  const t = `Bearer ${await token(k5, 'f')}`;
  assert.equal((await call(rig.gw.url, '/x', { authorization: t })).status, 200);
  down = true;
  try {
    await new Promise((res) => setTimeout(res, 2 * MAX_AGE_MS + 200));
    const r = await call(rig.gw.url, '/x', { authorization: t });
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.code, 'GW_ERR_TOKEN_INVALID');
  } finally {
    down = false;
  }
});
