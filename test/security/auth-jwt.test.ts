import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWTPayload } from 'jose';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { admin, createApp, getToken, tokenRequest } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { call, startAuthRig, type AuthRig } from './auth-rig.ts';

let rig: AuthRig;
let idp: Server;
let idpKey: Awaited<ReturnType<typeof generateKeyPair>>;
let idpFetches = 0;
let openUpstream: TestUpstream;

before(async () => {
  // An external issuer: RS256 keys served as JWKS by a local HTTP server.
  idpKey = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(idpKey.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  idp = createServer((_req, res) => {
    idpFetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`;
  openUpstream = await startUpstream('open');
  rig = await startAuthRig(
    {
      type: 'jwt',
      anonymous_paths: ['/public/*', '/health'],
      issuers: [{ issuer: 'https://idp.test', jwks_url: jwksUrl, audience: ['orders'] }],
    },
    {},
    [
      { name: 'open', routes: [{ paths: ['/open'] }], upstream: { targets: [{ url: openUpstream.url }] } },
      {
        name: 'hidden',
        routes: [{ paths: ['/hidden'] }],
        auth: { type: 'jwt', hide_credentials: true },
        upstream: { targets: [{ url: openUpstream.url }] },
      },
    ],
  );
});
after(async () => {
  idp.closeAllConnections();
  idp.close();
  await rig?.close();
  await openUpstream?.close();
});

/** The gateway's current private signing key, read from the single-node store, to forge tokens with chosen claims. */
async function gatewayKey() {
  const doc = JSON.parse(readFileSync(join(rig.gw.dir, 'store', 'identity', 'identity.json'), 'utf8'));
  const k = doc.keys.find((x: { retiredAt?: number }) => x.retiredAt === undefined);
  return { kid: k.kid as string, key: await importJWK(k.privateJwk, k.alg), publicJwk: k.publicJwk };
}

async function forge(claims: JWTPayload, opts: { kid?: string; omit?: string[] } = {}): Promise<string> {
  const { kid, key } = await gatewayKey();
  const now = Math.floor(Date.now() / 1000);
  const full: JWTPayload = {
    iss: 'tollgate',
    aud: 'tollgate',
    sub: 'forged',
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: randomUUID(),
    ...claims,
  };
  for (const k of opts.omit ?? []) delete full[k];
  return new SignJWT(full).setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? kid }).sign(key);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function expectReject(token: string, status: number, code: string, label: string) {
  const r = await call(rig.gw.url, '/x', { authorization: `Bearer ${token}` });
  assert.equal(r.status, status, `${label}: ${JSON.stringify(r.json)}`);
  assert.equal(r.json.code, code, label);
  assert.ok(r.json.request_id, label);
}

test(
  'a token from POST /oauth/token reaches the upstream, ' +
    'which sees the app id and nothing a client sent in its place',
  async () => {
    const { id, secret } = await createApp(rig.gw);
    const res = await tokenRequest(rig.gw.url, id, secret);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 300);
    const [h, p] = body.access_token
      .split('.')
      .slice(0, 2)
      .map((s) => JSON.parse(Buffer.from(s, 'base64url').toString() || '{}'));
    assert.equal(h.alg, 'ES256');
    assert.ok(h.kid);
    assert.equal(p.iss, 'tollgate');
    assert.equal(p.aud, 'tollgate');
    assert.equal(p.sub, id);
    assert.equal(p.exp - p.iat, 300);
    assert.equal(p.nbf, p.iat);
    assert.match(p.jti, /^[0-9a-f-]{36}$/);
    const r = await call(rig.gw.url, '/x', {
      authorization: `Bearer ${body.access_token}`,
      'x-tollgate-app-id': 'spoofed',
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-tollgate-app-id'], id);
    assert.equal(r.json.headers.authorization, `Bearer ${body.access_token}`, 'the token goes on by default');
    const hidden = await call(rig.gw.url, '/hidden', { authorization: `Bearer ${body.access_token}` });
    assert.equal(hidden.status, 200);
    assert.equal(hidden.json.headers.authorization, undefined, 'auth.hide_credentials: it does not');
    const [ev] = await eventsWhere(rig.gw, (e) => e.appId === id && e.status === 200 && e.service === 'api');
    assert.ok(ev, 'the access event names the app');
    const [tokenEv] = await eventsWhere(rig.gw, (e) => e.appId === id && e.service === '' && e.status === 200);
    assert.ok(tokenEv, 'the token request is an access event with the app id too');
  },
);

test('a service without auth still removes a client-sent app header', async () => {
  const r = await call(rig.gw.url, '/open', { 'x-tollgate-app-id': 'spoofed', 'X-Tollgate-App-Id': 'again' });
  assert.equal(r.status, 200);
  assert.equal(r.json.name, 'open');
  assert.equal(r.json.headers['x-tollgate-app-id'], undefined);
  // Nor does an anonymous path of an authenticated service pass one on.
  const a = await call(rig.gw.url, '/public/a', { 'x-tollgate-app-id': 'spoofed' });
  assert.equal(a.status, 200);
  assert.equal(a.json.headers['x-tollgate-app-id'], undefined);
});

test('anonymous paths skip authentication: exact entries match exactly, `*` entries by prefix', async () => {
  assert.equal((await call(rig.gw.url, '/public/x/y')).status, 200);
  assert.equal((await call(rig.gw.url, '/health')).status, 200);
  assert.equal((await call(rig.gw.url, '/health/more')).status, 401);
  assert.equal((await call(rig.gw.url, '/private')).status, 401);
});

test('no credentials: 401 GW_ERR_UNAUTHORIZED with a Bearer challenge, counted and recorded', async () => {
  const before = await metric(rig.gw, 'tollgate_auth_rejections_total', 'service="api",code="GW_ERR_UNAUTHORIZED"');
  const r = await call(rig.gw.url, '/needs-auth');
  assert.equal(r.status, 401);
  assert.equal(r.json.code, 'GW_ERR_UNAUTHORIZED');
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.equal(
    await metric(rig.gw, 'tollgate_auth_rejections_total', 'service="api",code="GW_ERR_UNAUTHORIZED"'),
    before + 1,
  );
  assert.ok((await metric(rig.gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_UNAUTHORIZED"')) >= 1);
  const [ev] = await eventsWhere(
    rig.gw,
    (e) => e.status === 401 && e.errorClass === 'unauthorized' && e.service === 'api' && e.appId === '',
  );
  assert.ok(ev);
});

test('bad tokens get 401 with a code, never a 500', async () => {
  const { kid, publicJwk } = await gatewayKey();
  const now = Math.floor(Date.now() / 1000);
  const good = { iss: 'tollgate', aud: 'tollgate', sub: 'x', iat: now, exp: now + 300 };
  // HS256 "signed" with the gateway's public key as the HMAC secret (key confusion).
  const pem = createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const confused = await new SignJWT(good)
    .setProtectedHeader({ alg: 'HS256', kid })
    .sign(new Uint8Array(Buffer.from(pem)));
  const other = await generateKeyPair('ES256');
  const cases: [string, string, string][] = [
    ['alg none', `${b64({ alg: 'none', kid })}.${b64(good)}.`, 'GW_ERR_TOKEN_INVALID'],
    ['HS256 with the public key as secret', confused, 'GW_ERR_TOKEN_INVALID'],
    ['expired', await forge({ exp: now - 60, iat: now - 400, nbf: now - 400 }), 'GW_ERR_TOKEN_EXPIRED'],
    ['not yet valid', await forge({ nbf: now + 120 }), 'GW_ERR_TOKEN_INVALID'],
    ['wrong issuer', await forge({ iss: 'someone-else' }), 'GW_ERR_TOKEN_INVALID'],
    ['wrong audience', await forge({ aud: 'another-api' }), 'GW_ERR_TOKEN_INVALID'],
    ['no exp', await forge({}, { omit: ['exp'] }), 'GW_ERR_TOKEN_INVALID'],
    ['no aud', await forge({}, { omit: ['aud'] }), 'GW_ERR_TOKEN_INVALID'],
    [
      'unknown kid',
      await new SignJWT(good).setProtectedHeader({ alg: 'ES256', kid: 'nobody' }).sign(other.privateKey),
      'GW_ERR_TOKEN_INVALID',
    ],
    [
      'known kid, other key',
      await new SignJWT(good).setProtectedHeader({ alg: 'ES256', kid }).sign(other.privateKey),
      'GW_ERR_TOKEN_INVALID',
    ],
    ['oversized', 'a'.repeat(9000), 'GW_ERR_TOKEN_INVALID'],
    ['garbage', 'not-a-jwt', 'GW_ERR_TOKEN_INVALID'],
    ['garbage segments', '%%%.$$$.###', 'GW_ERR_TOKEN_INVALID'],
    ['valid signature, unknown app', await forge({ sub: 'no-such-app' }), 'GW_ERR_TOKEN_INVALID'],
  ];
  const before = await metric(rig.gw, 'tollgate_auth_rejections_total', 'service="api",code="GW_ERR_TOKEN_INVALID"');
  for (const [label, token, code] of cases) await expectReject(token, 401, code, label);
  const invalid = cases.filter((c) => c[2] === 'GW_ERR_TOKEN_INVALID').length;
  assert.equal(
    await metric(rig.gw, 'tollgate_auth_rejections_total', 'service="api",code="GW_ERR_TOKEN_INVALID"'),
    before + invalid,
  );
  assert.ok((await metric(rig.gw, 'tollgate_auth_rejections_total', 'service="api",code="GW_ERR_TOKEN_EXPIRED"')) >= 1);
  assert.equal(await metric(rig.gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_INTERNAL"'), 0);
  const r = await call(rig.gw.url, '/x', { authorization: 'Basic abc' });
  assert.equal(r.json.code, 'GW_ERR_UNAUTHORIZED');
});

test(
  "a disabled app's valid (even cached) token gets " + '403 at once; re-enabled it works; deleted it gets 401',
  async () => {
    const { id, secret } = await createApp(rig.gw);
    const token = await getToken(rig.gw.url, id, secret);
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await call(rig.gw.url, '/x', auth)).status, 200);
    await admin(rig.gw, 'PUT', `/apps/${id}`, { name: 'test app', status: 'disabled' });
    const r = await call(rig.gw.url, '/x', auth);
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'GW_ERR_APP_DISABLED');
    assert.equal(await metric(rig.gw, 'tollgate_auth_rejections_total', 'service="api",code="GW_ERR_APP_DISABLED"'), 1);
    const [ev] = await eventsWhere(rig.gw, (e) => e.appId === id && e.status === 403);
    assert.equal(ev?.errorClass, 'forbidden');
    const tr = await tokenRequest(rig.gw.url, id, secret);
    assert.equal(tr.status, 403, 'no new tokens for a disabled app');
    await admin(rig.gw, 'PUT', `/apps/${id}`, { name: 'test app', status: 'enabled' });
    assert.equal((await call(rig.gw.url, '/x', auth)).status, 200);
    await admin(rig.gw, 'DELETE', `/apps/${id}`);
    const gone = await call(rig.gw.url, '/x', auth);
    assert.equal(gone.status, 401);
    assert.equal(gone.json.code, 'GW_ERR_TOKEN_INVALID');
  },
);

test('the token endpoint refuses bad requests with their codes', async () => {
  const { id, secret } = await createApp(rig.gw);
  const wrong = await tokenRequest(rig.gw.url, id, 'x'.repeat(43));
  assert.equal(wrong.status, 401);
  assert.equal(((await wrong.json()) as { code: string }).code, 'GW_ERR_CLIENT_AUTH_FAILED');
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic/);
  assert.equal((await tokenRequest(rig.gw.url, 'nobody', secret)).status, 401);
  const grant = await tokenRequest(rig.gw.url, id, secret, 'grant_type=password');
  assert.equal(grant.status, 400);
  assert.equal(((await grant.json()) as { code: string }).code, 'GW_ERR_TOKEN_REQUEST_INVALID');
  const noCreds = await fetch(`${rig.gw.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(noCreds.status, 401);
  const json = await fetch(`${rig.gw.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(json.status, 400);
  const get = await fetch(`${rig.gw.url}/oauth/token`);
  assert.equal(get.status, 400);
  assert.equal(get.headers.get('allow'), 'POST');
  const big = await tokenRequest(rig.gw.url, id, secret, `grant_type=client_credentials&pad=${'x'.repeat(5000)}`);
  assert.equal(big.status, 413);
  const viaForm = await fetch(`${rig.gw.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=${id}&client_secret=${secret}`,
  });
  assert.equal(viaForm.status, 200, 'client_secret_post works too');
  assert.ok((await metric(rig.gw, 'tollgate_token_requests_total', 'result="GW_ERR_CLIENT_AUTH_FAILED"')) >= 3);
  assert.ok((await metric(rig.gw, 'tollgate_token_requests_total', 'result="issued"')) >= 1);
  const [ev] = await eventsWhere(
    rig.gw,
    (e) => e.status === 401 && e.service === '' && e.errorClass === 'unauthorized',
  );
  assert.ok(ev, 'a failed token request is an access event');
});

test(
  "an external issuer's token verifies through its JWKS " +
    '(fetched once, then cached); wrong audience or alg is refused',
  async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: JWTPayload, alg = 'RS256') =>
      new SignJWT({ iss: 'https://idp.test', aud: 'orders', sub: 'ext-app', iat: now, exp: now + 120, ...claims })
        .setProtectedHeader({ alg, kid: 'idp-1' })
        .sign(idpKey.privateKey);
    const fetchesBefore = idpFetches;
    for (let i = 0; i < 3; i++) {
      const r = await call(rig.gw.url, '/x', { authorization: `Bearer ${await sign({ jti: String(i) })}` });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.headers['x-tollgate-app-id'], 'ext-app');
    }
    assert.ok(idpFetches - fetchesBefore <= 1, `JWKS fetched ${idpFetches - fetchesBefore} times`);
    await expectReject(await sign({ aud: 'billing' }), 401, 'GW_ERR_TOKEN_INVALID', 'wrong audience');
    await expectReject(await sign({ exp: now - 100 }), 401, 'GW_ERR_TOKEN_EXPIRED', 'expired external');
    await expectReject(await sign({ iss: 'https://evil.test' }), 401, 'GW_ERR_TOKEN_INVALID', 'unknown issuer');
    // An external token naming a registered app is subject to its status.
    await createApp(rig.gw, { id: 'ext-disabled', status: 'disabled' });
    await expectReject(
      await sign({ sub: 'ext-disabled' }),
      403,
      'GW_ERR_APP_DISABLED',
      'external token of a disabled app',
    );
  },
);
