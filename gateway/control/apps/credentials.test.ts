import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialCache, MAX_PENDING_PER_CLIENT, MAX_PENDING_VERIFICATIONS, type Verified } from './credentials.ts';
import { generateSecret, hashSecret } from './secret.ts';
import type { App, Identity } from './types.ts';

async function identityWith(secret: string): Promise<Identity> {
  const app: App = {
    id: 'a1',
    name: 'a1',
    status: 'enabled',
    secrets: [{ hash: await hashSecret(secret), createdAt: 0 }],
    allowedIps: [],
    roles: [],
    createdAt: 0,
    updatedAt: 0,
  };
  return { version: 1, apps: new Map([[app.id, app]]), publicKeys: [] };
}

test(
  'an unknown app id is checked with scrypt like a ' + 'wrong secret, so timing does not reveal which ids exist',
  async () => {
    const secret = generateSecret();
    const identity = await identityWith(secret);
    const cache = new CredentialCache(10);
    const unknown = cache.verify(() => identity, 'no-such-app', secret, CredentialCache.key('no-such-app', secret));
    // The decoy verification holds a slot while it runs, as a real one does.
    assert.equal(cache.pending, 1);
    assert.equal(await unknown, undefined);
    assert.equal(cache.pending, 0);
    const wrong = cache.verify(() => identity, 'a1', generateSecret(), 'k2');
    assert.equal(cache.pending, 1);
    assert.equal(await wrong, undefined);
    assert.equal(((await cache.verify(() => identity, 'a1', secret, 'k3')) as Verified).appId, 'a1');
  },
);

test('verifications beyond the concurrency cap are refused as busy, for unknown ids too', async () => {
  const secret = generateSecret();
  const identity = await identityWith(secret);
  const cache = new CredentialCache(10);
  cache.pending = MAX_PENDING_VERIFICATIONS;
  assert.equal(await cache.verify(() => identity, 'no-such-app', secret, 'k1'), 'busy');
  assert.equal(await cache.verify(() => identity, 'a1', secret, 'k2'), 'busy');
});

test('one client address holds at most MAX_PENDING_PER_CLIENT checks; another address is still checked', async () => {
  const secret = generateSecret();
  const identity = await identityWith(secret);
  const cache = new CredentialCache(10);
  const flood = Array.from({ length: MAX_PENDING_PER_CLIENT }, (_, i) =>
    cache.verify(() => identity, 'a1', generateSecret(), `guess-${i}`, '10.0.0.1'),
  );
  assert.equal(await cache.verify(() => identity, 'a1', generateSecret(), 'one-more', '10.0.0.1'), 'busy');
  const other = cache.verify(() => identity, 'a1', secret, 'right', '10.0.0.2');
  assert.equal(((await other) as Verified).appId, 'a1');
  assert.deepEqual(await Promise.all(flood), Array(MAX_PENDING_PER_CLIENT).fill(undefined));
  assert.equal(cache.pending, 0);
  assert.notEqual(await cache.verify(() => identity, 'a1', secret, 'later', '10.0.0.1'), 'busy', 'freed');
});

test('the same credentials checked at once share one verification and one slot', async () => {
  const secret = generateSecret();
  const identity = await identityWith(secret);
  const cache = new CredentialCache(10);
  const burst = Array.from({ length: 20 }, () => cache.verify(() => identity, 'a1', secret, 'same', '10.0.0.1'));
  assert.equal(cache.pending, 1);
  for (const r of await Promise.all(burst)) assert.equal((r as Verified).appId, 'a1');
  assert.equal(cache.pending, 0);
});

test('a check answers as of the identity once scrypt is done: a secret rotated out meanwhile is no match', async () => {
  const secret = generateSecret();
  let identity = await identityWith(secret);
  const cache = new CredentialCache(10);
  const rotated = {
    ...identity.apps.get('a1')!,
    secrets: [{ hash: await hashSecret(generateSecret()), createdAt: 1 }],
  };
  const check = cache.verify(() => identity, 'a1', secret, 'k');
  identity = { ...identity, version: 2, apps: new Map([['a1', rotated]]) };
  assert.equal(await check, undefined);
});
