import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from 'node:http2';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { type SendResult, send } from '../helpers/http-client.ts';
import { h2Request } from '../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { createApp } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { h2Handshake, UPGRADE_HEADERS } from '../helpers/raw-websocket.ts';
import { ALL_SPELLINGS, SPELLINGS } from './path-spellings.ts';

// Regression: unusual spellings of a protected prefix reached a catch-all route
// (and so the upstream) without the protected route's rules. Every spelling of
// /admin/users must now get that route's decision or a 400.

let up: TestUpstream;
let gw: TestGateway;
const keys: Record<string, string> = {};
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
const LOOPBACK = ['127.0.0.0/8', '::1'];

const routeHeader = (name: string) => ({ response_headers: { set: { 'x-route': name } } });

before(async () => {
  up = await startUpstream('up');
  const auth = { type: 'api_key' };
  gw = await startGateway({
    // The same routes over HTTP/2 (prior knowledge): a :path is read by the same code as a request line's target.
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      // IP list: the admin prefix is closed to loopback clients, the rest of the host is open.
      {
        ...service(
          'acl-admin',
          [up.url],
          [{ name: 'acl-admin', hosts: ['acl.test'], paths: ['/admin'], ...routeHeader('acl-admin') }],
        ),
        acl: { deny: LOOPBACK },
      },
      service(
        'acl-public',
        [up.url],
        [{ name: 'acl-public', hosts: ['acl.test'], paths: ['/'], ...routeHeader('acl-public') }],
      ),
      // API key + RBAC: readers may use the catch-all, support only /admin/tickets.
      {
        ...service(
          'rbac',
          [up.url],
          [
            { name: 'rbac-admin', hosts: ['rbac.test'], paths: ['/admin'], ...routeHeader('rbac-admin') },
            { name: 'rbac-root', hosts: ['rbac.test'], paths: ['/'], ...routeHeader('rbac-root') },
          ],
        ),
        auth,
        rbac: {
          roles: {
            reader: [{ routes: ['rbac-root'], methods: ['GET'] }],
            support: [{ routes: ['rbac-admin'], paths: ['/admin/tickets'] }],
          },
        },
      },
      // A route-keyed rate limit: every spelling spends from one bucket.
      {
        ...service(
          'metered',
          [up.url],
          [
            { name: 'metered', hosts: ['rl.test'], paths: ['/metered'], ...routeHeader('metered') },
            { name: 'unmetered', hosts: ['rl.test'], paths: ['/'], ...routeHeader('unmetered') },
          ],
        ),
        rate_limits: [{ name: 'per-route', key: 'route', routes: ['metered'], qps: 1, burst: 3 }],
      },
      // The injection guard skips /console only.
      {
        ...service(
          'guarded',
          [up.url],
          [{ name: 'guarded', hosts: ['guard.test'], paths: ['/'], ...routeHeader('guarded') }],
        ),
        guard: { exclude_paths: ['/console'] },
      },
      // Host spellings: secure.test is closed to loopback; any other host is the catch-all.
      {
        ...service(
          'secure',
          [up.url],
          [{ name: 'secure', hosts: ['secure.test'], paths: ['/'], ...routeHeader('secure') }],
        ),
        acl: { deny: LOOPBACK },
      },
      service('anyhost', [up.url], [{ name: 'anyhost', paths: ['/'], ...routeHeader('anyhost') }]),
    ],
  });
  for (const [role, id] of [
    ['reader', 'reader-app'],
    ['support', 'support-app'],
  ]) {
    const { secret } = await createApp(gw, { id, name: id, roles: [role] });
    keys[role] = `${id}.${secret}`;
  }
  const ready = await eventually(
    async () => (await send(gw.url, '/x', { headers: { host: 'rbac.test', 'x-api-key': keys.reader } })).status === 200,
    3000,
  );
  assert.ok(ready, 'apps reached the data plane');
});

after(async () => {
  agent.destroy();
  await gw?.close();
  await up?.close();
});

const get = (path: string, host: string, headers: Record<string, string> = {}) =>
  send(gw.url, path.replace('{host}', host), { agent, headers: { host, ...headers } });

/** What the assertions read of an answer, over HTTP/1.1 or HTTP/2. */
type Answer = Pick<SendResult, 'status' | 'headers' | 'json'>;

/** The route's own refusal, or a 400 with a code from the registry; never an answer from the upstream. */
function assertRefused(res: Answer, path: string, kind: string, protectedCode: string): void {
  assert.equal(res.headers['x-route'], undefined, `${kind} ${path} reached route ${res.headers['x-route']}`);
  const { code } = res.json();
  if (res.status === 400) assert.match(code, /^GW_ERR_(PATH_[A-Z_]+|BAD_REQUEST)$/, `${kind} ${path}`);
  else assert.deepEqual([res.status, code], [403, protectedCode], `${kind} ${path}`);
}

test(`${ALL_SPELLINGS.length} spellings of an IP-listed prefix get its 403 or a 400, never the catch-all`, async () => {
  const seen = up.seen.length;
  for (const { kind, path } of ALL_SPELLINGS)
    assertRefused(await get(path, 'acl.test'), path, kind, 'GW_ERR_IP_DENIED');
  assert.equal(up.seen.length, seen, 'the upstream saw none of them');
  // The control: the catch-all answers where it should.
  assert.equal((await get('/adminx', 'acl.test')).headers['x-route'], 'acl-public');
});

test('a WebSocket handshake over HTTP/1.1 (an Upgrade: Node hands it over apart) is refused as a GET is', async () => {
  const seen = up.seen.length;
  for (const { kind, path } of ALL_SPELLINGS) {
    const res = await send(gw.url, path.replace('{host}', 'acl.test'), {
      headers: { host: 'acl.test', ...UPGRADE_HEADERS },
    });
    assertRefused(res, path, kind, 'GW_ERR_IP_DENIED');
  }
  assert.equal(up.seen.length, seen, 'the upstream saw none of them');
});

/**
 * One request over h2c; 'malformed' when nghttp2 resets the stream as a protocol error (RFC 9113 8.1.1: a :path
 * that is not origin-form, such as an absolute URI, never becomes a request).
 */
async function h2get(path: string, authority: string): Promise<Answer | 'malformed'> {
  try {
    const answer = await h2Request(gw.port('h2c'), path, undefined, { ':authority': authority });
    return { status: answer.status, headers: answer.headers, json: () => JSON.parse(answer.text) };
  } catch (err) {
    assert.match((err as Error).message, /NGHTTP2_PROTOCOL_ERROR/, `${path} over h2c`);
    return 'malformed';
  }
}

test('over HTTP/2 each spelling is refused as over HTTP/1.1, or reset as malformed, never the catch-all', async () => {
  const seen = up.seen.length;
  const malformed: string[] = [];
  for (const { kind, path } of ALL_SPELLINGS) {
    const res = await h2get(path.replace('{host}', 'acl.test'), 'acl.test');
    if (res === 'malformed') malformed.push(path);
    else assertRefused(res, path, kind, 'GW_ERR_IP_DENIED');
  }
  assert.equal(up.seen.length, seen, 'the upstream saw none of them');
  // Only the absolute-form spellings are not origin-form paths; every other one reached the gateway's routing.
  assert.deepEqual(malformed, SPELLINGS.absolute_form);
  const control = await h2get('/adminx', 'acl.test');
  assert.equal(control !== 'malformed' && control.headers['x-route'], 'acl-public');
});

/** An RFC 8441 WebSocket handshake on `session`: its answer (a tunnel that opens is closed after 2 s). */
function connectWebSocket(session: ClientHttp2Session, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(h2Handshake(path, 'acl.test'));
    let headers: IncomingHttpHeaders = {};
    let body = '';
    const timer = setTimeout(() => stream.close(), 2000);
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      headers = h;
    });
    stream.on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('error', reject);
    stream.on('close', () => {
      clearTimeout(timer);
      resolve({ status: Number(headers[':status']), headers, json: () => JSON.parse(body) });
    });
  });
}

test('a WebSocket over HTTP/2 (extended CONNECT) is routed on the canonical path: no spelling gets past', async () => {
  const session = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  await once(session, 'remoteSettings'); // extended CONNECT may be sent once the server's SETTINGS allow it
  const seen = up.seen.length;
  try {
    for (const { kind, path } of ALL_SPELLINGS) {
      if (kind === 'absolute_form') continue; // not origin-form: malformed over HTTP/2 (the test above)
      assertRefused(await connectWebSocket(session, path), path, kind, 'GW_ERR_IP_DENIED');
    }
    // The control: a handshake elsewhere goes to the catch-all's upstream (no WebSocket server: 502).
    const other = await connectWebSocket(session, '/adminx');
    assert.deepEqual([other.status, other.json().code], [502, 'GW_ERR_BAD_GATEWAY']);
  } finally {
    session.close();
  }
  assert.deepEqual(
    up.seen.slice(seen).map((r) => r.url),
    ['/adminx'],
    'the upstream saw the control alone',
  );
});

test(":authority and a Host header naming different hosts get 400 over HTTP/2, not either host's route", async () => {
  const seen = up.seen.length;
  for (const [authority, host] of [
    ['secure.test', 'elsewhere.test'],
    ['elsewhere.test', 'secure.test'],
  ]) {
    const answer = await h2Request(gw.port('h2c'), '/x', undefined, { ':authority': authority, host });
    assert.deepEqual([answer.status, answer.headers['x-route']], [400, undefined], `${authority} / ${host}`);
  }
  assert.equal(up.seen.length, seen);
  const same = await h2Request(gw.port('h2c'), '/x', undefined, { ':authority': 'secure.test', host: 'secure.test' });
  assert.equal(JSON.parse(same.text).code, 'GW_ERR_IP_DENIED', 'the same host twice is that host');
});

test('the same spellings through RBAC: a role without the grant gets 403 or 400, never the catch-all', async () => {
  const seen = up.seen.length;
  for (const { kind, path } of ALL_SPELLINGS)
    assertRefused(await get(path, 'rbac.test', { 'x-api-key': keys.reader }), path, kind, 'GW_ERR_FORBIDDEN');
  assert.equal(up.seen.length, seen, 'the upstream saw none of them');
  assert.ok((await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_PATH_ESCAPED_SEPARATOR"')) >= 2 * 12);
});

test(
  'a path grant is judged on the canonical path, which is ' + 'also what the upstream gets and the access event counts',
  async () => {
    for (const path of [
      '/admin/tickets/7',
      '/x/../admin/tickets/7',
      '/%61dmin/./tickets//7',
      '/admin;s=1/tickets/7',
      '/admin/users/../tickets/7',
    ]) {
      const res = await get(path, 'rbac.test', { 'x-api-key': keys.support });
      assert.deepEqual([res.status, res.headers['x-route']], [200, 'rbac-admin'], path);
      assert.equal(
        res.json().url,
        path.includes(';') ? '/admin;s=1/tickets/7' : '/admin/tickets/7',
        `${path} reaches the upstream canonical`,
      );
    }
    for (const path of [
      '/admin/tickets/../users',
      '/admin/tickets%2F..%2Fusers',
      '/admin/tickets/%2e%2e/users',
      '/admin/ticketsx',
      '/admin/tickets;x/../../users',
    ]) {
      const res = await get(path, 'rbac.test', { 'x-api-key': keys.support });
      assert.ok(res.status === 403 || res.status === 400, `${path}: ${res.status}`);
    }
    const events = await eventsWhere(gw, (ev) => ev.appId === 'support-app' && ev.status === 200, 5);
    assert.deepEqual(
      events.map((ev) => ev.route),
      Array(5).fill('rbac-admin'),
      'each is counted on the route it was judged by',
    );
  },
);

test('a route-keyed rate limit counts every spelling of the route in one bucket', async () => {
  const statuses: number[] = [];
  for (const path of ['/metered/x', '/%6Detered/x', '/y/../metered/x', '//metered/./x', '/metered;p/x'])
    statuses.push((await get(path, 'rl.test')).status);
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  assert.equal((await get('/meteredx', 'rl.test')).status, 200, 'another route is not limited');
});

test('the injection guard: a spelling of an excluded prefix cannot carry an injection to another path', async () => {
  const inj = '?q=%27%20or%201%3D1--';
  assert.equal((await get(`/console/run${inj}`, 'guard.test')).status, 200, 'the excluded prefix is not inspected');
  for (const path of [
    `/console/../items${inj}`,
    `/console/%2e%2e/items${inj}`,
    `/console;x/../items${inj}`,
    `/%63onsole/../items${inj}`,
  ]) {
    const res = await get(path, 'guard.test');
    assert.deepEqual([res.status, res.json().code], [403, 'GW_ERR_INJECTION_BLOCKED'], path);
  }
  assert.equal((await get(`/console%2F..%2Fitems${inj}`, 'guard.test')).status, 400);
  // An injection in the path is found however it is escaped.
  for (const path of [
    "/items/1'%20or%20'1'='1",
    '/items/1%27%20or%20%271%27=%271',
    '/items/1%27%20OR%20%271%27%3D%271',
  ]) {
    assert.equal((await get(path, 'guard.test')).status, 403, path);
  }
});

test('Host: case, a trailing dot and the port do not change the route; malformed names get 400', async () => {
  for (const host of [
    'secure.test',
    'SECURE.TEST',
    'Secure.Test',
    'secure.test.',
    'secure.test:80',
    'SECURE.TEST.:8080',
    'secure.test:',
  ]) {
    const res = await get('/x', host);
    assert.deepEqual([res.status, res.json().code], [403, 'GW_ERR_IP_DENIED'], host);
  }
  const abs = await send(gw.url, 'http://SECURE.test./x', { agent, headers: { host: 'other.test' } });
  assert.deepEqual([abs.status, abs.json().code], [403, 'GW_ERR_IP_DENIED'], 'absolute-form authority');
  for (const host of ['secure..test', '%73ecure.test', '.secure.test', 'secure.test..', 'secure.test..:80']) {
    const res = await get('/x', host);
    assert.equal(res.status, 400, host);
    assert.equal(res.headers['x-route'], undefined);
  }
  assert.equal((await get('/x', 'elsewhere.test')).headers['x-route'], 'anyhost');
});
