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
const COOLDOWN_MS = 1000;

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

    // A fresh token under the withdrawn key is refused (tokens already verified stay cached until they expire).
    r = await call(rig.gw.url, '/x', { authorization: `Bearer ${await token(k1, 'd')}` });
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.code, 'GW_ERR_TOKEN_INVALID');
  },
);
