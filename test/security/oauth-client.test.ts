// The token endpoint through a standard OAuth client library (openid-client, on oauth4webapi): its client
// credentials grant, both ways of sending the secret, and its refusals read as RFC 6749 5.2 errors (`error`,
// `error_description`) beside the gateway's own code. Before they carried `error`, the library took every refusal
// for a response it did not understand (OAUTH_RESPONSE_IS_NOT_CONFORM).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as oauth from 'openid-client';
import { admin, createApp, tokenRequest } from '../helpers/admin.ts';
import { call, startAuthRig, type AuthRig } from './auth-rig.ts';

let rig: AuthRig;

before(async () => {
  rig = await startAuthRig({ type: 'jwt' });
});
after(async () => {
  await rig?.close();
});

function client(id: string, auth: oauth.ClientAuth): oauth.Configuration {
  const server = { issuer: 'tollgate', token_endpoint: `${rig.gw.url}/oauth/token` };
  const config = new oauth.Configuration(server, id, undefined, auth);
  oauth.allowInsecureRequests(config); // plain HTTP on loopback
  return config;
}

/** The error a call to the library threw. */
async function refusal(p: Promise<unknown>): Promise<{ name: string; error?: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { constructor: { name: string }; error?: string; status?: number };
    return { name: e.constructor.name, error: e.error, status: e.status };
  }
  assert.fail('the call was not refused');
}

test('openid-client gets a token with the secret as HTTP Basic or in the form, and the token works', async () => {
  const { id, secret } = await createApp(rig.gw);
  for (const auth of [oauth.ClientSecretBasic(secret), oauth.ClientSecretPost(secret)]) {
    const tokens = await oauth.clientCredentialsGrant(client(id, auth));
    assert.equal(tokens.token_type, 'bearer'); // the library lower-cases it
    assert.equal(typeof tokens.expires_in, 'number');
    const res = await call(rig.gw.url, '/x', { authorization: `Bearer ${tokens.access_token}` });
    assert.equal(res.status, 200);
  }
});

test('refusals are OAuth errors the library reads: unsupported grant, disabled app, wrong secret', async () => {
  const { id, secret } = await createApp(rig.gw);
  const password = oauth.genericGrantRequest(client(id, oauth.ClientSecretBasic(secret)), 'password', {
    username: 'u',
    password: 'p',
  });
  assert.deepEqual(await refusal(password), {
    name: 'ResponseBodyError',
    error: 'unsupported_grant_type',
    status: 400,
  });
  // A wrong secret: 401 with a Basic challenge (RFC 9110 11.6.1), which the library reports before the body's error.
  const wrong = oauth.clientCredentialsGrant(client(id, oauth.ClientSecretPost('x'.repeat(43))));
  assert.deepEqual(await refusal(wrong), { name: 'WWWAuthenticateChallengeError', error: undefined, status: 401 });
  const raw = await tokenRequest(rig.gw.url, id, 'x'.repeat(43));
  assert.equal(raw.status, 401);
  assert.deepEqual(
    Object.entries((await raw.json()) as Record<string, string>).filter(([k]) => k !== 'request_id'),
    [
      ['error', 'invalid_client'],
      ['error_description', 'The client credentials are invalid.'],
      ['code', 'GW_ERR_CLIENT_AUTH_FAILED'],
      ['message', 'The client credentials are invalid.'],
    ],
  );
  assert.equal((await admin(rig.gw, 'PUT', `/apps/${id}`, { name: 'test app', status: 'disabled' })).status, 200);
  const disabled = oauth.clientCredentialsGrant(client(id, oauth.ClientSecretBasic(secret)));
  assert.deepEqual(await refusal(disabled), { name: 'ResponseBodyError', error: 'unauthorized_client', status: 403 });
});

test('a parameter given twice, or two ways of authenticating: invalid_request (RFC 6749 2.3, 3.2)', async () => {
  const { id, secret } = await createApp(rig.gw);
  const cases = [
    'grant_type=client_credentials&grant_type=client_credentials',
    `grant_type=client_credentials&client_id=${id}&client_id=${id}`,
    `grant_type=client_credentials&client_secret=${secret}`, // and HTTP Basic (tokenRequest)
    'grant_type=',
  ];
  for (const form of cases) {
    const res = await tokenRequest(rig.gw.url, id, secret, form);
    const body = (await res.json()) as { error: string; code: string };
    assert.equal(res.status, 400, form);
    assert.equal(body.error, 'invalid_request', form);
    assert.equal(body.code, 'GW_ERR_TOKEN_REQUEST_INVALID', form);
  }
  assert.equal((await tokenRequest(rig.gw.url, id, secret)).status, 200);
});
