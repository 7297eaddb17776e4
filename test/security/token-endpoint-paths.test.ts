// The token and JWKS endpoints belong to the gateway under every spelling routing reads as their paths (absolute-form,
// `//`, `%6F`, dot segments, `;params`), over HTTP/1.1 and HTTP/2. They used to answer only the exact spelling: the
// others went to whichever route took `/`, the client's secret with them, while the access event said
// `/oauth/token`.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { createApp } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let site: TestUpstream;
let gw: TestGateway;
let basic: string;

before(async () => {
  site = await startUpstream('site');
  gw = await startGateway({
    listeners: [
      { name: 'public', listen: '127.0.0.1:0', protocols: ['http/1.1'] },
      { name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] },
    ],
    services: [service('site', [site.url])], // a public site on `/`, no auth
  });
  const { id, secret } = await createApp(gw);
  basic = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
});
after(async () => {
  await gw?.close();
  await site?.close();
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

test('every spelling of /oauth/token that routing reads as it gets a token; none reaches the upstream', async () => {
  const base = `http://127.0.0.1:${gw.port('public')}`;
  const spellings = [
    '/oauth/token',
    `${base}/oauth/token`,
    '/oauth//token',
    '/%6Fauth/token',
    '/oauth/./token',
    '/x/../oauth/token',
    '/oauth/token;v=1',
    '/oauth//token?x=1',
  ];
  for (const path of spellings) {
    const r = await send(base, path, {
      method: 'POST',
      headers: { ...FORM, authorization: basic },
      body: 'grant_type=client_credentials',
    });
    assert.equal(r.status, 200, path);
    assert.equal(typeof r.json().access_token, 'string', path);
  }
  for (const path of ['/.well-known//jwks.json', `${base}/.well-known/jwks.json`]) {
    const r = await send(base, path);
    assert.equal(r.status, 200, path);
    assert.ok(Array.isArray(r.json().keys), path);
  }
  assert.deepEqual(site.seen, [], 'the site got none of them');
  // Other paths are the site's.
  assert.equal((await send(base, '/oauth/token/', { method: 'POST', headers: FORM, body: 'a=b' })).status, 200);
  assert.equal(site.seen.length, 1);
  // Each an access event of the gateway's endpoint (no service), not of the site.
  const tokenEvents = (e: AccessEvent) => e.service === '' && e.method === 'POST' && e.status === 200;
  assert.equal((await eventsWhere(gw, tokenEvents, spellings.length)).length, spellings.length);
});

test('over HTTP/2 too', async () => {
  const session = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  session.on('error', () => undefined);
  try {
    for (const path of ['/oauth//token', '/%6Fauth/token']) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': path, ...FORM, authorization: basic });
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (text += c));
        req.on('end', () => resolve(text));
        req.on('error', reject);
        req.end('grant_type=client_credentials');
      });
      assert.equal(typeof JSON.parse(body).access_token, 'string', path);
    }
  } finally {
    session.close();
  }
  assert.deepEqual(
    site.seen.filter((r) => r.url.includes('oauth/token') && r.url !== '/oauth/token/'),
    [],
  );
});
