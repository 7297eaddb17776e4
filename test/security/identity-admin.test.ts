import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../helpers/gateway.ts';
import { admin, createApp, getToken, tokenRequest } from '../helpers/admin.ts';
import { startAuthRig, type AuthRig } from './auth-rig.ts';
import { call } from '../operations/client.ts';

let rig: AuthRig;
before(async () => {
  rig = await startAuthRig({ type: 'jwt' });
});
after(() => rig.close());

test('POST /apps returns the secret once; GET never shows a secret or its hash', async () => {
  const created = await admin(rig.gw, 'POST', '/apps', {
    id: 'billing',
    name: 'Billing',
    qps: 10,
    burst: 20,
    qpd: 1000,
    roles: ['reader'],
    allowed_ips: ['10.0.0.0/8', '::ffff:192.168.1.1'],
  });
  assert.equal(created.status, 201);
  assert.match(created.json.secret, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(
    { ...created.json.app, secrets: undefined, created_at: undefined, updated_at: undefined },
    {
      id: 'billing',
      name: 'Billing',
      status: 'enabled',
      qps: 10,
      burst: 20,
      qpd: 1000,
      roles: ['reader'],
      allowed_ips: ['10.0.0.0/8', '::ffff:192.168.1.1'],
      secrets: undefined,
      created_at: undefined,
      updated_at: undefined,
    },
  );
  const secret = created.json.secret as string;
  const one = await admin(rig.gw, 'GET', '/apps/billing');
  const all = await admin(rig.gw, 'GET', '/apps');
  assert.equal(one.status, 200);
  assert.ok(all.json.some((a: { id: string }) => a.id === 'billing'));
  for (const text of [JSON.stringify(one.json), JSON.stringify(all.json)]) {
    assert.ok(!text.includes(secret), 'no secret');
    assert.ok(!text.includes('scrypt'), 'no hash');
  }
  assert.equal(one.json.secrets.length, 1);
  // Stored as a hash only.
  const stored = readFileSync(join(rig.gw.dir, 'store', 'identity', 'identity.json'), 'utf8');
  assert.ok(!stored.includes(secret));
  assert.match(stored, /scrypt\$16384/);
});

test("PUT replaces an app's fields and keeps its secret; DELETE removes it; both 404 for an unknown id", async () => {
  const { id, secret } = await createApp(rig.gw, { name: 'orders' });
  const put = await admin(rig.gw, 'PUT', `/apps/${id}`, { name: 'orders v2', status: 'disabled', roles: ['writer'] });
  assert.equal(put.status, 200);
  assert.equal(put.json.name, 'orders v2');
  assert.equal(put.json.status, 'disabled');
  assert.deepEqual(put.json.roles, ['writer']);
  assert.equal(put.json.secrets.length, 1);
  await admin(rig.gw, 'PUT', `/apps/${id}`, { name: 'orders v2' });
  assert.ok(await getToken(rig.gw.url, id, secret), 'the secret survived the PUT');
  assert.equal((await admin(rig.gw, 'DELETE', `/apps/${id}`)).status, 204);
  for (const [method, body] of [['GET'], ['PUT', { name: 'x' }], ['DELETE'], ['POST']] as const) {
    const path = method === 'POST' ? `/apps/${id}/secret` : `/apps/${id}`;
    const r = await admin(rig.gw, method, path, body);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.json.code, 'GW_ERR_NOT_FOUND');
  }
});

test('malformed app payloads get 400 naming the field', async () => {
  const cases: [unknown, string][] = [
    [{}, '/name'],
    [{ name: 'x', status: 'paused' }, '/status'],
    [{ name: 'x', qps: -1 }, '/qps'],
    [{ name: 'x', qpd: 'many' }, '/qpd'],
    [{ name: 'x', roles: ['has space'] }, '/roles/0'],
    [{ name: 'x', allowed_ips: ['10.0.0.0/33'] }, '/allowed_ips/0'],
    [{ name: 'x', allowed_ips: ['1.2.3.4', 'not-an-ip'] }, '/allowed_ips/1'],
    [{ name: 'x', id: 'has.dot' }, '/id'],
    [{ name: 'x', secret: 'mine' }, '/secret'],
  ];
  for (const [body, path] of cases) {
    const r = await admin(rig.gw, 'POST', '/apps', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.code, 'GW_ERR_BAD_REQUEST');
    assert.ok(
      r.json.errors.some((e: { path: string }) => e.path === path),
      `${JSON.stringify(body)} → ${JSON.stringify(r.json.errors)}`,
    );
  }
  await createApp(rig.gw, { id: 'dup' });
  const dup = await admin(rig.gw, 'POST', '/apps', { id: 'dup', name: 'again' });
  assert.equal(dup.status, 400);
  assert.equal(dup.json.errors[0].path, '/id');
});

test('prototype-pollution keys in an app payload are rejected and pollute nothing', async () => {
  for (const raw of [
    '{"name":"x","__proto__":{"status":"disabled"}}',
    '{"name":"x","constructor":{"prototype":{"polluted":1}}}',
    '{"name":"x","roles":[],"qps":1,"burst":{"__proto__":{}}}',
  ]) {
    const r = await admin(rig.gw, 'POST', '/apps', raw);
    assert.equal(r.status, 400, raw);
    assert.equal(r.json.code, 'GW_ERR_BAD_REQUEST');
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).status, undefined);
});

test('a rotated secret is shown once; the old one keeps working for the overlap window, then stops', async () => {
  const { id, secret: old } = await createApp(rig.gw);
  assert.ok(await getToken(rig.gw.url, id, old));
  const rotated = await admin(rig.gw, 'POST', `/apps/${id}/secret?overlap_s=2`);
  assert.equal(rotated.status, 200);
  const fresh = rotated.json.secret as string;
  assert.notEqual(fresh, old);
  assert.equal(rotated.json.app.secrets.length, 2);
  assert.ok(rotated.json.app.secrets[0].expires_at, 'the old secret has an expiry');
  assert.ok(await getToken(rig.gw.url, id, fresh));
  // The old secret was verified (and cached) before the rotation: it still works within the overlap.
  assert.equal((await tokenRequest(rig.gw.url, id, old)).status, 200);
  await sleep(2200);
  const late = await tokenRequest(rig.gw.url, id, old);
  assert.equal(late.status, 401);
  assert.equal(((await late.json()) as { code: string }).code, 'GW_ERR_CLIENT_AUTH_FAILED');
  assert.equal((await tokenRequest(rig.gw.url, id, fresh)).status, 200);
});

test('key rotation: JWKS lists both keys and a token signed with the old key still verifies', async () => {
  const { id, secret } = await createApp(rig.gw);
  const before = (await admin(rig.gw, 'GET', '/keys')).json as { kid: string; current: boolean }[];
  const oldToken = await getToken(rig.gw.url, id, secret);
  const rotated = await admin(rig.gw, 'POST', '/keys/rotate');
  assert.equal(rotated.status, 200);
  assert.equal(rotated.json.current, true);
  assert.ok(!before.some((k) => k.kid === rotated.json.kid));
  const keys = (await admin(rig.gw, 'GET', '/keys')).json as {
    kid: string;
    current: boolean;
    retired_at?: string;
    alg: string;
  }[];
  assert.equal(keys.filter((k) => k.current).length, 1);
  assert.ok(keys.some((k) => k.retired_at && before.some((b) => b.current && b.kid === k.kid)));
  assert.ok(keys.every((k) => k.alg === 'ES256'));
  assert.ok(!JSON.stringify(keys).includes('"d"'), 'no private key material');
  const jwks = (await (await fetch(`${rig.gw.url}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string; d?: string }[];
  };
  const oldKid = before.find((k) => k.current)!.kid;
  assert.deepEqual(new Set(jwks.keys.map((k) => k.kid)), new Set([oldKid, rotated.json.kid]));
  assert.ok(jwks.keys.every((k) => k.d === undefined));
  const newToken = await getToken(rig.gw.url, id, secret);
  const kidOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString()).kid;
  assert.equal(kidOf(oldToken), oldKid);
  assert.equal(kidOf(newToken), rotated.json.kid);
  for (const t of [oldToken, newToken])
    assert.equal((await fetch(`${rig.gw.url}/x`, { headers: { authorization: `Bearer ${t}` } })).status, 200);
});

test('key rotation with revoke_previous: tokens the previous keys signed are refused at once, cached too', async () => {
  const { id, secret } = await createApp(rig.gw);
  const token = await getToken(rig.gw.url, id, secret);
  const call = (t: string) => fetch(`${rig.gw.url}/x`, { headers: { authorization: `Bearer ${t}` } });
  assert.equal((await call(token)).status, 200, 'verified, and cached');
  assert.equal((await admin(rig.gw, 'POST', '/keys/rotate?revoke_previous=maybe')).status, 400);
  const rotated = await admin(rig.gw, 'POST', '/keys/rotate?revoke_previous=true');
  assert.equal(rotated.status, 200);
  const keys = (await admin(rig.gw, 'GET', '/keys')).json as { kid: string }[];
  assert.deepEqual(
    keys.map((k) => k.kid),
    [rotated.json.kid],
    'only the new key is left',
  );
  const jwks = (await (await fetch(`${rig.gw.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  assert.deepEqual(
    jwks.keys.map((k) => k.kid),
    [rotated.json.kid],
  );
  const refused = await call(token);
  assert.equal(refused.status, 401);
  assert.equal(((await refused.json()) as { code: string }).code, 'GW_ERR_TOKEN_INVALID');
  assert.equal((await call(await getToken(rig.gw.url, id, secret))).status, 200, 'a new token verifies');
});

test(
  'GETs of apps carry the apps version as ETag; a write ' +
    'with If-Match is refused with 412 once the apps have changed',
  async () => {
    const url = rig.gw.adminUrl;
    const { id } = await createApp(rig.gw, { name: 'etag' });
    const list = await call('GET', `${url}/apps`);
    const etag = list.headers.etag as string;
    assert.match(etag, /^"apps-\d+"$/);
    assert.equal((await call('GET', `${url}/apps/${id}`)).headers.etag, etag, 'one version for the list and each app');

    const put = await call('PUT', `${url}/apps/${id}`, { headers: { 'if-match': etag }, body: { name: 'etag v2' } });
    assert.equal(put.status, 200, put.text);
    const next = put.headers.etag as string;
    assert.notEqual(next, etag, "the write's reply carries the new version");
    assert.equal((await call('GET', `${url}/apps`)).headers.etag, next);

    // Every write made on the old version is refused and changes nothing.
    const writes: [string, string, unknown?][] = [
      ['PUT', `/apps/${id}`, { name: 'lost update' }],
      ['DELETE', `/apps/${id}`],
      ['POST', `/apps/${id}/secret`],
      ['POST', '/apps', { id: 'etag-new', name: 'stale create' }],
      // Made on a version that no longer serves: 412 whether or not the app exists now, as for PUT and DELETE.
      ['PUT', '/apps/no-such-app', { name: 'x' }],
      ['DELETE', '/apps/no-such-app'],
      ['POST', '/apps/no-such-app/secret'],
    ];
    for (const [method, path, body] of writes) {
      const r = await call(method, `${url}${path}`, { headers: { 'if-match': etag }, body });
      assert.equal(r.status, 412, `${method} ${path}: ${r.text}`);
      assert.equal(r.json().code, 'GW_ERR_CONFIG_VERSION_MISMATCH');
      assert.equal(r.headers.etag, next, 'with the version that serves');
    }
    const after = (await call('GET', `${url}/apps/${id}`)).json();
    assert.equal(after.name, 'etag v2');
    assert.equal(after.secrets.length, 1);
    assert.equal((await call('GET', `${url}/apps/etag-new`)).status, 404);
    assert.equal((await call('GET', `${url}/apps`)).headers.etag, next, 'nothing was saved');

    // A config ETag names another resource's version: it matches no apps version.
    const configVersion = rig.gw.manager.current().version;
    const crossed = await call('PUT', `${url}/apps/${id}`, {
      headers: { 'if-match': `"${configVersion}"` },
      body: { name: 'x' },
    });
    assert.equal(crossed.status, 412, crossed.text);
    const bad = await call('PUT', `${url}/apps/${id}`, { headers: { 'if-match': 'apps-3' }, body: { name: 'x' } });
    assert.equal(bad.status, 400, bad.text);

    // With the current ETag (or none, or *) the writes go through.
    const secret = await call('POST', `${url}/apps/${id}/secret`, { headers: { 'if-match': next } });
    assert.equal(secret.status, 200, secret.text);
    const created = await call('POST', `${url}/apps`, {
      headers: { 'if-match': secret.headers.etag as string },
      body: { id: 'etag-new', name: 'fresh' },
    });
    assert.equal(created.status, 201, created.text);
    const del = await call('DELETE', `${url}/apps/etag-new`, { headers: { 'if-match': '*' } });
    assert.equal(del.status, 204);
    assert.match(del.headers.etag as string, /^"apps-\d+"$/);
  },
);

test(
  'GET /keys carries the keys version as ETag; a rotation with a stale ' +
    'If-Match gets 412 and changes nothing; keys and apps ETags move apart',
  async () => {
    const url = rig.gw.adminUrl;
    const { id } = await createApp(rig.gw, { name: 'keys-etag' });
    const appsEtag = (await call('GET', `${url}/apps`)).headers.etag as string;
    const first = await call('GET', `${url}/keys`);
    const keysEtag = first.headers.etag as string;
    assert.match(keysEtag, /^"keys-\d+"$/);

    const rotated = await call('POST', `${url}/keys/rotate`, { headers: { 'if-match': keysEtag } });
    assert.equal(rotated.status, 200, rotated.text);
    const next = rotated.headers.etag as string;
    assert.match(next, /^"keys-\d+"$/);
    assert.notEqual(next, keysEtag, "the rotation's reply carries the new keys version");
    const afterRotation = await call('GET', `${url}/keys`);
    assert.equal(afterRotation.headers.etag, next);
    assert.equal((await call('GET', `${url}/apps`)).headers.etag, appsEtag, 'a key rotation leaves the apps ETag');
    const put = await call('PUT', `${url}/apps/${id}`, {
      headers: { 'if-match': appsEtag },
      body: { name: 'keys-etag v2' },
    });
    assert.equal(put.status, 200, `an apps write based on the ETag read before the rotation goes through: ${put.text}`);
    assert.equal((await call('GET', `${url}/keys`)).headers.etag, next, 'an app change leaves the keys ETag');

    // A rotation based on the keys before: refused with the serving ETag, and no key made or retired.
    const jwks = async () => (await call('GET', `${rig.gw.url}/.well-known/jwks.json`)).json();
    const jwksBefore = await jwks();
    for (const ifMatch of [keysEtag, put.headers.etag as string, `"${rig.gw.manager.current().version}"`]) {
      const stale = await call('POST', `${url}/keys/rotate`, { headers: { 'if-match': ifMatch } });
      assert.equal(stale.status, 412, `If-Match ${ifMatch}: ${stale.text}`);
      assert.equal(stale.json().code, 'GW_ERR_CONFIG_VERSION_MISMATCH');
      assert.equal(stale.headers.etag, next, 'with the keys version that serves');
    }
    const now = await call('GET', `${url}/keys`);
    assert.equal(now.headers.etag, next, 'nothing was saved');
    assert.deepEqual(now.json(), afterRotation.json(), 'no key made or retired');
    assert.deepEqual(await jwks(), jwksBefore);
    // And the other way round: a keys ETag matches no apps version.
    const crossed = await call('PUT', `${url}/apps/${id}`, { headers: { 'if-match': next }, body: { name: 'x' } });
    assert.equal(crossed.status, 412, crossed.text);
    assert.equal((await call('POST', `${url}/keys/rotate`, { headers: { 'if-match': 'keys-3' } })).status, 400);

    const again = await call('POST', `${url}/keys/rotate`, { headers: { 'if-match': '*' } });
    assert.equal(again.status, 200, again.text);
    assert.notEqual(again.headers.etag, next);
  },
);

test(
  'the OpenAPI document describes the app and key ' + 'routes, with the If-Match and the 412 of every write',
  async () => {
    const doc = (await admin(rig.gw, 'GET', '/openapi.json')).json;
    for (const p of ['/apps', '/apps/{id}', '/apps/{id}/secret', '/keys', '/keys/rotate']) assert.ok(doc.paths[p], p);
    assert.ok(doc.paths['/apps'].post.responses['201']);
    const writes: [string, string, string][] = [
      ['/apps', 'post', 'apps-'],
      ['/apps/{id}', 'put', 'apps-'],
      ['/apps/{id}', 'delete', 'apps-'],
      ['/apps/{id}/secret', 'post', 'apps-'],
      ['/keys/rotate', 'post', 'keys-'],
    ];
    for (const [path, method, prefix] of writes) {
      const op = doc.paths[path][method];
      const ifMatch = (op.parameters ?? []).find(
        (p: { in: string; name: string }) => p.in === 'header' && p.name === 'if-match',
      );
      assert.ok(ifMatch, `${method} ${path} takes If-Match`);
      assert.match(
        ifMatch.description,
        new RegExp(`"${prefix}\\d+"`),
        `${method} ${path}: its If-Match names the ${prefix} ETag`,
      );
      for (const status of ['409', '412']) assert.ok(op.responses[status], `${method} ${path} documents ${status}`);
    }
    assert.match(doc.paths['/keys'].get.summary, /ETag is the keys version/);
  },
);
