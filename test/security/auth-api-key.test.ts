import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { admin, createApp, tokenRequest } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { send } from '../helpers/http-client.ts';
import { call, startAuthRig, type AuthRig } from './auth-rig.ts';
import { service, startGateway } from '../helpers/gateway.ts';

let rig: AuthRig;
before(async () => {
  rig = await startAuthRig({
    type: 'api_key',
    api_key_header: 'X-Key',
    app_header: 'X-Caller',
    anonymous_paths: ['/status'],
  });
});
after(() => rig?.close());

test(
  'an API key `<app_id>.<secret>` in the ' + 'operator-named header authenticates the app and names it upstream',
  async () => {
    const { id, secret } = await createApp(rig.gw);
    const r = await call(rig.gw.url, '/x', { 'x-key': `${id}.${secret}`, 'x-caller': 'spoofed' });
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-caller'], id);
    // Regression: the key went on too, so every service's logs could hold every tenant's key.
    assert.equal(r.json.headers['x-key'], undefined, 'the key never reaches the upstream');
    const anonymous = await call(rig.gw.url, '/status', { 'x-key': `${id}.${secret}` });
    assert.equal(anonymous.json.headers['x-key'], undefined, 'nor on an anonymous path');
    // Repeats are answered from the credential cache, not scrypt.
    const hitsBefore = await metric(rig.gw, 'tollgate_auth_cache_total', 'kind="credentials",result="hit"');
    for (let i = 0; i < 5; i++)
      assert.equal((await call(rig.gw.url, '/x', { 'x-key': `${id}.${secret}` })).status, 200);
    assert.equal(await metric(rig.gw, 'tollgate_auth_cache_total', 'kind="credentials",result="hit"'), hitsBefore + 5);
    assert.ok((await eventsWhere(rig.gw, (e) => e.appId === id && e.status === 200)).length > 0);
  },
);

test('a client naming the app header in Connection cannot make the gateway drop it upstream', async () => {
  const { id, secret } = await createApp(rig.gw);
  const { hostname, port } = new URL(rig.gw.url);
  // fetch will not send a Connection header; node:http does.
  const body = await new Promise<string>((resolve, reject) => {
    const headers = { 'x-key': `${id}.${secret}`, connection: 'keep-alive, X-Caller, X-Forwarded-For' };
    const req = request({ host: hostname, port, path: '/x', headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  const seen = JSON.parse(body).headers;
  assert.equal(seen['x-caller'], id, 'the authenticated app is named upstream');
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
});

test(
  'a missing key is 401 GW_ERR_UNAUTHORIZED; a wrong, ' + 'malformed or unknown-app key is 401 GW_ERR_API_KEY_INVALID',
  async () => {
    const { id, secret } = await createApp(rig.gw);
    assert.equal((await call(rig.gw.url, '/x')).json.code, 'GW_ERR_UNAUTHORIZED');
    const before = await metric(
      rig.gw,
      'tollgate_auth_rejections_total',
      'service="api",code="GW_ERR_API_KEY_INVALID"',
    );
    for (const key of [
      `${id}.${'A'.repeat(43)}`,
      `${id}.${secret}x`,
      secret,
      `.${secret}`,
      `nobody.${secret}`,
      `${id}.`,
      'x'.repeat(300),
    ]) {
      const r = await call(rig.gw.url, '/x', { 'x-key': key });
      assert.equal(r.status, 401, key);
      assert.equal(r.json.code, 'GW_ERR_API_KEY_INVALID', key);
    }
    assert.equal(
      await metric(rig.gw, 'tollgate_auth_rejections_total', 'service="api",code="GW_ERR_API_KEY_INVALID"'),
      before + 7,
    );
    assert.equal((await call(rig.gw.url, '/status')).status, 200, 'anonymous path');
  },
);

test(
  "a disabled app's cached API key is refused at once " + 'with 403; a rotated-out key stops after the overlap',
  async () => {
    const { id, secret } = await createApp(rig.gw);
    const key = { 'x-key': `${id}.${secret}` };
    assert.equal((await call(rig.gw.url, '/x', key)).status, 200);
    await admin(rig.gw, 'PUT', `/apps/${id}`, { name: 'x', status: 'disabled' });
    const r = await call(rig.gw.url, '/x', key);
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'GW_ERR_APP_DISABLED');
    await admin(rig.gw, 'PUT', `/apps/${id}`, { name: 'x' });
    const rotated = await admin(rig.gw, 'POST', `/apps/${id}/secret?overlap_s=0`);
    assert.equal(
      (await call(rig.gw.url, '/x', key)).json.code,
      'GW_ERR_API_KEY_INVALID',
      'no overlap: the old key stops at once, cached or not',
    );
    assert.equal((await call(rig.gw.url, '/x', { 'x-key': `${id}.${rotated.json.secret}` })).status, 200);
  },
);

test('an unknown app id costs the scrypt a wrong secret does: a flood of them fills the checks', async () => {
  const answers = await Promise.all(
    Array.from({ length: 48 }, (_, i) => call(rig.gw.url, '/x', { 'x-key': `no-such-app-${i}.${'C'.repeat(43)}` })),
  );
  // Refused at once, without the decoy, every one would be a 401 and none would find the checks taken.
  assert.ok(answers.some((r) => r.status === 503 && r.json.code === 'GW_ERR_AUTH_BUSY'));
  assert.ok(answers.every((r) => r.status === 503 || r.json.code === 'GW_ERR_API_KEY_INVALID'));
});

/** An API-key request, or a token request, for app `id` with `secret`, from `localAddress`. */
const checked = (kind: 'key' | 'token', id: string, secret: string, localAddress = '127.0.0.1') =>
  kind === 'key'
    ? send(rig.gw.url, '/x', { headers: { 'x-key': `${id}.${secret}` }, localAddress })
    : send(rig.gw.url, '/oauth/token', {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
        localAddress,
      });

for (const kind of ['key', 'token'] as const) {
  test(`a flood of guessed credentials from one address leaves another address room (${kind})`, async () => {
    const { id, secret } = await createApp(rig.gw);
    let busy: () => void;
    const floodBusy = new Promise<void>((r) => (busy = r));
    const flood = Array.from({ length: 48 }, (_, i) =>
      checked(kind, id, String(i).padStart(43, 'D')).then((r) => {
        if (r.status === 503) busy();
        return r;
      }),
    );
    // Sent once the flood has found the checks taken (its first 503), while they run: were every slot the
    // flood's, this credential's first check would be a 503 too.
    await floodBusy;
    assert.equal((await checked(kind, id, secret, '127.0.0.2')).status, 200);
    const statuses = (await Promise.all(flood)).map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 503 || s === 401),
      statuses.join(),
    );
  });
}

test('while guessed keys fill the scrypt checks, a key not checked before gets 503 and a retry, not 401', async () => {
  const { id, secret } = await createApp(rig.gw);
  // Wrong secrets of a real app: each costs a whole scrypt.
  const guesses = Array.from({ length: 48 }, (_, i) => [
    call(rig.gw.url, '/x', { 'x-key': `${id}.${String(i).padStart(43, 'A')}` }),
    tokenRequest(rig.gw.url, id, String(i).padStart(43, 'B')).then(async (r) => ({
      status: r.status,
      json: await r.json(),
      headers: r.headers,
    })),
  ]);
  const [keys, tokens] = [await Promise.all(guesses.map((g) => g[0])), await Promise.all(guesses.map((g) => g[1]))];
  for (const [what, answers] of [
    ['api key', keys],
    ['token endpoint', tokens],
  ] as const) {
    const busy = answers.filter((r) => r.status === 503);
    assert.ok(busy.length > 0, `${what}: some guesses found every check taken`);
    for (const r of busy) {
      assert.equal(r.json.code, 'GW_ERR_AUTH_BUSY');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.ok(
      answers.every((r) => r.status === 503 || r.status === 401),
      `${what}: the others are refused as wrong`,
    );
  }
  // Once the flood is over, the right key is checked and let in.
  assert.equal((await call(rig.gw.url, '/x', { 'x-key': `${id}.${secret}` })).status, 200);
});

// Regression: with the key's header left as undefined rather than removed, the guard's `x-*` header scan threw on it
// and every request with a key on a guarded service got 500.
test('a key on a service with the injection guard (x-* headers inspected) is let in, and not sent on', async () => {
  const gw = await startGateway({
    services: [{ ...service('guarded', [rig.upstream.url]), auth: { type: 'api_key' }, guard: {} }],
  });
  try {
    const { id, secret } = await createApp(gw);
    const r = await call(gw.url, '/x', { 'x-api-key': `${id}.${secret}`, 'x-other': 'fine' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.headers['x-api-key'], undefined);
    assert.equal(r.json.headers['x-other'], 'fine');
  } finally {
    await gw.close();
  }
});
