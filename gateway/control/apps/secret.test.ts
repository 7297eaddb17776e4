import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSecret, hashSecret, matchSecret, verifySecret } from './secret.ts';
import type { App } from './types.ts';

test('a secret is 32 random bytes in base64url and its stored hash is a self-describing scrypt string', async () => {
  const secret = generateSecret();
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(generateSecret(), secret);
  const hash = await hashSecret(secret);
  assert.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.ok(!hash.includes(secret));
  assert.equal(await verifySecret(secret, hash), true);
  assert.equal(await verifySecret(secret.slice(1) + 'x', hash), false);
});

test('two hashes of one secret differ (salted) and a malformed stored hash never matches', async () => {
  const secret = generateSecret();
  assert.notEqual(await hashSecret(secret), await hashSecret(secret));
  for (const bad of ['', 'scrypt$1$8$1$aa$bb', 'bcrypt$x', 'scrypt$16384$8$1$AAAA$AAAA'])
    assert.equal(await verifySecret(secret, bad), false, bad);
});

test('matchSecret skips an expired rotated-out secret and finds a live one', async () => {
  const [old, cur] = [generateSecret(), generateSecret()];
  const now = Date.now();
  const app: App = {
    id: 'a',
    name: 'a',
    status: 'enabled',
    allowedIps: [],
    roles: [],
    createdAt: now,
    updatedAt: now,
    secrets: [
      { hash: await hashSecret(old), createdAt: now, expiresAt: now + 1000 },
      { hash: await hashSecret(cur), createdAt: now },
    ],
  };
  assert.ok(await matchSecret(app, old, now));
  assert.equal(await matchSecret(app, old, now + 1000), undefined);
  assert.equal((await matchSecret(app, cur, now + 1000))?.hash, app.secrets[1].hash);
});
