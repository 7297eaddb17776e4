import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startGateway, service, sleep, type TestGateway, NO_EVENTS } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { admin, createApp, getToken } from '../helpers/admin.ts';
import { call } from './auth-rig.ts';
import { call as json } from '../operations/client.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { scriptOn, startRedisInterposer } from '../helpers/redis-interposer.ts';
import { identityDocOf, type IdentityDoc } from '../../gateway/control/apps/doc.ts';
import { generateSigningKey, rotateKeys } from '../../gateway/control/apps/keys.ts';

// Real Redis from scripts/services.sh; CI must have it, a laptop may skip.
const url = process.env.TOLLGATE_TEST_REDIS_URL;
const skip = !url && process.env.CI !== 'true' ? 'TOLLGATE_TEST_REDIS_URL is unset' : false;

test('two gateway nodes sharing a Redis store: tokens issued by one verify ' +
  'on the other; a disable on one is refused by the other within a second', {
  skip,
}, async () => {
  const prefix = `tollgate-test:${randomBytes(6).toString('hex')}:`;
  const upstream = await startUpstream('api');
  const config = {
    store: { kind: 'redis', redis_url: url, prefix },
    events: NO_EVENTS,
    services: [{ ...service('api', [upstream.url]), auth: { type: 'jwt' } }],
  };
  const nodes: TestGateway[] = [];
  try {
    nodes.push(await startGateway(config));
    nodes.push(await startGateway(config));
    const [a, b] = nodes;
    // Both nodes use the one signing key the first node made.
    const jwksA = await (await fetch(`${a.url}/.well-known/jwks.json`)).json();
    const jwksB = await (await fetch(`${b.url}/.well-known/jwks.json`)).json();
    assert.deepEqual(jwksB, jwksA);

    const { id, secret } = await createApp(a);
    // The app reaches node B through Redis.
    let seen = -1;
    for (let t = 0; t < 50 && seen !== 200; t++) {
      seen = (await admin(b, 'GET', `/apps/${id}`)).status;
      if (seen !== 200) await sleep(20);
    }
    assert.equal(seen, 200);
    const token = await getToken(a.url, id, secret);
    const tokenB = await getToken(b.url, id, secret);
    for (const t of [token, tokenB]) {
      assert.equal((await call(a.url, '/x', { authorization: `Bearer ${t}` })).status, 200);
      assert.equal((await call(b.url, '/x', { authorization: `Bearer ${t}` })).status, 200);
    }

    const disabledAt = Date.now();
    assert.equal((await admin(a, 'PUT', `/apps/${id}`, { name: 'x', status: 'disabled' })).status, 200);
    let refusedAfterMs = -1;
    while (Date.now() - disabledAt < 2000) {
      const r = await call(b.url, '/x', { authorization: `Bearer ${token}` });
      if (r.status === 403) {
        assert.equal(r.json.code, 'GW_ERR_APP_DISABLED');
        refusedAfterMs = Date.now() - disabledAt;
        break;
      }
      await sleep(10);
    }
    assert.ok(
      refusedAfterMs >= 0 && refusedAfterMs < 1000,
      `node B refused the disabled app after ${refusedAfterMs} ms`,
    );
    console.log(`# disable on node A refused by node B after ${refusedAfterMs} ms`);

    // A key rotated on node B is served by node A's JWKS, and both still verify the older token.
    const rotated = await admin(b, 'POST', '/keys/rotate');
    let kids: string[] = [];
    for (let t = 0; t < 50 && !kids.includes(rotated.json.kid); t++) {
      kids = ((await (await fetch(`${a.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
        (k) => k.kid,
      );
      if (!kids.includes(rotated.json.kid)) await sleep(20);
    }
    assert.equal(kids.length, 2);
    await admin(a, 'PUT', `/apps/${id}`, { name: 'x' });
    await sleep(100);
    assert.equal((await call(b.url, '/x', { authorization: `Bearer ${token}` })).status, 200);
    const fresh = await getToken(a.url, id, secret);
    assert.equal(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid, rotated.json.kid);
    assert.equal((await call(b.url, '/x', { authorization: `Bearer ${fresh}` })).status, 200);
  } finally {
    for (const n of nodes) await n.close();
    await upstream.close();
    const raw = new Redis(url!);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
  }
});

/**
 * Another node's change, stored the way a node saves (the version and the
 * changed part's version moved by one), but not announced: until its next
 * poll, no node here has heard of it. Returns the version stored.
 */
async function saveAsAnotherNode(
  redisUrl: string,
  prefix: string,
  part: 'apps' | 'keys',
  change: (doc: IdentityDoc) => Partial<IdentityDoc>,
): Promise<number> {
  const raw = new Redis(redisUrl);
  try {
    const key = `${prefix}identity`;
    const [version, body] = await raw.hmget(key, 'version', 'doc');
    const doc = identityDocOf(Number(version), JSON.parse(body!));
    const next = doc.version + 1;
    const changed = { ...doc, ...change(doc), ...(part === 'apps' ? { appsVersion: next } : { keysVersion: next }) };
    const { version: _, ...stored } = changed;
    await raw.hset(key, 'version', next, 'doc', JSON.stringify(stored));
    return next;
  } finally {
    await raw.quit();
  }
}

/** Another node's key rotation: a new current key, the one before retired. */
async function rotateAsAnotherNode(redisUrl: string, prefix: string): Promise<{ version: number; kid: string }> {
  const key = await generateSigningKey('ES256', Date.now());
  const version = await saveAsAnotherNode(redisUrl, prefix, 'keys', (doc) => ({
    keys: rotateKeys(doc.keys, key, Date.now(), 3_600_000),
  }));
  return { version, kid: key.kid };
}

/**
 * Apps' If-Match is checked against the store, not only this node's copy: a
 * write whose ETag was current here gets 412 when another node saved a newer
 * version this node has not heard of yet (stored, never announced), and the
 * newer apps are adopted. The other node's save is made while this node's own
 * save is on its way to Redis (held by the relay), so this node has passed
 * the check on its own copy and it is the store that refuses it: the path
 * under test every time, with no poll able to tell the node first. A private
 * redis-server, so it needs no shared one.
 */
test('an apps write with If-Match gets 412 once another node saved a newer version, heard of or not', async (t) => {
  const redis = await startPrivateRedis(t);
  if (!redis) return;
  const relay = await startRedisInterposer(t, redis.url);
  const prefix = `tollgate-test:${randomBytes(6).toString('hex')}:`;
  const gw = await startGateway({
    store: { kind: 'redis', redis_url: relay.url, prefix },
    services: [service('api', ['http://127.0.0.1:9'])],
  });
  t.after(() => gw.close());
  const { id } = await createApp(gw, { name: 'mine' });
  const etag = (await json('GET', `${gw.adminUrl}/apps/${id}`)).headers.etag as string;

  // Another node renames the app just before this node's save reaches Redis.
  let theirs = 0;
  const trap = relay.before(scriptOn(`${prefix}identity`), async () => {
    theirs = await saveAsAnotherNode(redis.url, prefix, 'apps', (doc) => ({
      apps: doc.apps.map((a) => (a.id === id ? { ...a, name: 'theirs' } : a)),
    }));
  });
  const put = await json('PUT', `${gw.adminUrl}/apps/${id}`, {
    headers: { 'if-match': etag },
    body: { name: 'lost update' },
  });
  assert.equal(
    trap.ran(),
    1,
    "this node passed the check on its own copy and was saving when the other node's version was stored",
  );
  assert.equal(put.status, 412, put.text);
  assert.equal(put.json().code, 'GW_ERR_CONFIG_VERSION_MISMATCH');
  assert.equal(put.headers.etag, `"apps-${theirs}"`);
  const now = await json('GET', `${gw.adminUrl}/apps/${id}`);
  assert.equal(now.json().name, 'theirs', "the other node's change is adopted and kept");
  assert.equal(now.headers.etag, put.headers.etag);
});

/**
 * Keys in a cluster, with the other node's saves made inside this node's own
 * (as above): a key rotation with If-Match gets 412 once another node
 * rotated, heard of or not; an apps write that loses the race to another
 * node's rotation is redone (its apps ETag still matches); and a rotation
 * that loses 8 races in a row, to app changes that leave its If-Match
 * matching, gets 409.
 */
test(
  'a key rotation with If-Match gets 412 once another node rotated, heard of or ' +
    'not, and 409 after 8 lost races; an apps write losing to a rotation is redone',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const relay = await startRedisInterposer(t, redis.url);
    const prefix = `tollgate-test:${randomBytes(6).toString('hex')}:`;
    const gw = await startGateway({
      store: { kind: 'redis', redis_url: relay.url, prefix },
      services: [service('api', ['http://127.0.0.1:9'])],
    });
    t.after(() => gw.close());
    const saves = scriptOn(`${prefix}identity`);
    const { id } = await createApp(gw, { name: 'mine' });
    const appsEtag = (await json('GET', `${gw.adminUrl}/apps`)).headers.etag as string;
    const keysEtag = (await json('GET', `${gw.adminUrl}/keys`)).headers.etag as string;

    // An apps write racing another node's key rotation: redone on it, not refused.
    let rotation = { version: 0, kid: '' };
    const raced = relay.before(saves, async () => {
      rotation = await rotateAsAnotherNode(redis.url, prefix);
    });
    const put = await json('PUT', `${gw.adminUrl}/apps/${id}`, {
      headers: { 'if-match': appsEtag },
      body: { name: 'mine v2' },
    });
    assert.equal(raced.ran(), 1);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.headers.etag, `"apps-${rotation.version + 1}"`, "saved on top of the other node's rotation");
    const keys = await json('GET', `${gw.adminUrl}/keys`);
    assert.equal(keys.headers.etag, `"keys-${rotation.version}"`, 'the rotation it lost to is adopted');
    assert.notEqual(keys.headers.etag, keysEtag);
    assert.equal(keys.json().find((k: { current: boolean }) => k.current).kid, rotation.kid);

    // A rotation made on the keys before another node's rotation: 412, and this node makes no key.
    const stale = keys.headers.etag as string;
    const rotatedFirst = relay.before(saves, async () => {
      rotation = await rotateAsAnotherNode(redis.url, prefix);
    });
    const refused = await json('POST', `${gw.adminUrl}/keys/rotate`, { headers: { 'if-match': stale } });
    assert.equal(rotatedFirst.ran(), 1, 'this node passed the check on its own copy and was saving');
    assert.equal(refused.status, 412, refused.text);
    assert.equal(refused.json().code, 'GW_ERR_CONFIG_VERSION_MISMATCH');
    assert.equal(refused.headers.etag, `"keys-${rotation.version}"`);
    const afterRefusal = await json('GET', `${gw.adminUrl}/keys`);
    assert.equal(afterRefusal.headers.etag, refused.headers.etag);
    assert.equal(
      afterRefusal.json().find((k: { current: boolean }) => k.current).kid,
      rotation.kid,
      "the other node's key is current; none of this node's was saved",
    );
    assert.equal(
      (await json('GET', `${gw.adminUrl}/apps`)).headers.etag,
      put.headers.etag,
      'neither rotation moved the apps ETag',
    );

    // Eight lost races to app changes: the keys If-Match keeps matching, so each is retried, and the last gives 409.
    const current = refused.headers.etag as string;
    const beaten = relay.before(
      saves,
      () =>
        saveAsAnotherNode(redis.url, prefix, 'apps', (doc) => ({
          apps: doc.apps.map((a) => ({ ...a, updatedAt: a.updatedAt + 1 })),
        })),
      8,
    );
    const conflict = await json('POST', `${gw.adminUrl}/keys/rotate`, { headers: { 'if-match': current } });
    assert.equal(beaten.ran(), 8);
    assert.equal(conflict.status, 409, conflict.text);
    assert.equal(conflict.json().code, 'GW_ERR_CONFIG_CONFLICT');
    assert.equal(conflict.headers.etag, current, 'the keys did not change');
    const last = await json('GET', `${gw.adminUrl}/keys`);
    assert.equal(last.headers.etag, current);
    assert.deepEqual(last.json(), afterRefusal.json(), 'nothing of the rotation was saved');
  },
);
