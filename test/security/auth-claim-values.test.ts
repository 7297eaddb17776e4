// An external issuer's token names its app in a claim the gateway sends upstream in a header and records in the
// access event. A value with CR, LF, NUL, a lone surrogate or a character beyond ASCII could be neither: it was let
// in, then undici refused the header, and the gateway blamed the target (a 502 that ejected it, so every tenant got
// 503), or the event could not be encoded and the request went uncounted. Such a token is now refused (401), and a
// request head undici will not send is never the target's failure.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { eventsWhere } from '../helpers/events.ts';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { notTheTargets } from '../../gateway/proxy/stages/proxy/outcome.ts';

let idp: Server;
let key: Awaited<ReturnType<typeof generateKeyPair>>;
let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  key = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  idp = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"keys":[${JSON.stringify(jwk)}]}`),
  );
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`;
  up = await startUpstream('api');
  gw = await startGateway({
    services: [
      {
        ...service('api', [up.url], [{ paths: ['/'] }]),
        // One failure would eject the lone target: a request blamed on it would leave the next one a 503.
        upstream: { targets: [{ url: up.url }], health: { passive: { max_failures: 1, max_ejected_percent: 100 } } },
        auth: {
          type: 'jwt',
          issuers: [{ issuer: 'https://idp.test', jwks_url: jwksUrl, audience: ['api'], require_app: false }],
        },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  await up?.close();
  idp?.close();
});

async function call(sub: string): Promise<{ status: number; code?: string }> {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const token = await new SignJWT({ iss: 'https://idp.test', aud: 'api', sub, exp })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .sign(key.privateKey);
  const res = await fetch(`${gw.url}/x`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  return { status: res.status, code: body.code };
}

test('a token whose app claim is no printable ASCII gets 401, is counted, and reaches no one', async () => {
  const seen = up.seen.length;
  const bad = ['x\r\nx-injected: 1', 'a\u0000b', '\ud800bob', 'ü-user', ' padded'];
  for (const sub of bad) assert.deepEqual(await call(sub), { status: 401, code: 'GW_ERR_TOKEN_INVALID' }, sub);
  assert.equal(up.seen.length, seen, 'the upstream saw none of them');
  assert.equal((await eventsWhere(gw, (e) => e.status === 401, bad.length)).length, bad.length);
  assert.equal((await call('user@example.test|42')).status, 200, 'printable ASCII, spaces and signs inside, goes on');
  assert.equal(up.seen.at(-1)?.headers['x-tollgate-app-id'], 'user@example.test|42');
});

test('a request head undici will not send is answered 500 and blames no target; nothing else does', () => {
  for (const code of ['UND_ERR_INVALID_ARG', 'ERR_INVALID_CHAR', 'ERR_HTTP2_INVALID_HEADER_VALUE'])
    assert.equal(notTheTargets(code), 'GW_ERR_INTERNAL', code);
  assert.equal(notTheTargets('TOLLGATE_APP_DISABLED'), 'GW_ERR_APP_DISABLED');
  for (const code of ['ECONNREFUSED', 'UND_ERR_SOCKET', undefined]) assert.equal(notTheTargets(code), undefined);
});
