import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send, type SendOptions } from '../helpers/http-client.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

// One gateway, one echo upstream per service: the echo's `name` says which route won.
const routes: Record<string, Record<string, unknown>[]> = {
  'prio-high': [{ paths: ['/prio'], priority: 10 }],
  'prio-low': [{ hosts: ['prio.test'], paths: ['=/prio/x'], methods: ['GET'] }],
  'host-exact': [{ hosts: ['api.example.com'], paths: ['/h'] }],
  'host-port': [{ hosts: ['ports.test:8443'], paths: ['/h'] }],
  'host-wild': [{ hosts: ['*.example.com'], paths: ['/h'] }],
  'host-wild-long': [{ hosts: ['*.eu.example.com'], paths: ['/h'] }],
  'host-any': [{ paths: ['/h'] }],
  'path-exact': [{ paths: ['=/p/x'] }],
  'path-long': [{ paths: ['/p/x'] }],
  'path-short': [{ paths: ['/p'] }],
  'path-regex': [{ paths: ['~^/p/.*/z$', '~^/q[0-9]+$'] }],
  'rx-any-path': [{ hosts: ['rx.test'] }],
  'rx-regex': [{ hosts: ['rx.test'], paths: ['~^/q[0-9]+$'] }],
  seg: [{ paths: ['/api/'] }],
  'm-get': [{ paths: ['/m'], methods: ['GET'] }],
  'm-post': [{ paths: ['/m'], methods: ['POST'] }],
  'm-any': [{ paths: ['/m'] }],
  'm-only': [{ paths: ['/monly'], methods: ['GET', 'HEAD'] }],
  'm-trace': [{ paths: ['/mtrace'], methods: ['GET', 'TRACE'] }],
  'hdr-v2': [{ paths: ['/hdr'], headers: { 'X-Version': '2' } }],
  'hdr-beta': [{ paths: ['/hdr'], headers: { 'x-channel': '~^beta-' } }],
  'hdr-none': [{ paths: ['/hdr'] }],
};

let gw: TestGateway;
const upstreams: TestUpstream[] = [];

before(async () => {
  const services = [];
  for (const [name, r] of Object.entries(routes)) {
    const up = await startUpstream(name);
    upstreams.push(up);
    services.push({ name, routes: r, upstream: { targets: [{ url: up.url }] } });
  }
  gw = await startGateway({ services });
});

after(async () => {
  await gw?.close();
  await Promise.all(upstreams.map((u) => u.close()));
});

/** Name of the service that answered, or `404` when the gateway found no route. */
async function via(path: string, opts: SendOptions = {}): Promise<string> {
  const res = await send(gw.url, path, opts);
  if (res.status === 404) {
    assert.equal(res.json().code, 'GW_ERR_NO_ROUTE');
    return '404';
  }
  assert.equal(res.status, 200, res.text);
  return res.json().name;
}

const host = (h: string, extra: SendOptions = {}): SendOptions => ({
  ...extra,
  headers: { ...extra.headers, host: h },
});

test('a higher priority route wins over a more specific one', async () => {
  assert.equal(await via('/prio/x', host('prio.test')), 'prio-high');
});

test('an exact host beats a wildcard, which beats a route without hosts', async () => {
  assert.equal(await via('/h', host('api.example.com')), 'host-exact');
  assert.equal(await via('/h', host('shop.example.com')), 'host-wild');
  assert.equal(await via('/h', host('other.test')), 'host-any');
});

test('the longer wildcard wins and a wildcard never matches its bare domain', async () => {
  assert.equal(await via('/h', host('fr.eu.example.com')), 'host-wild-long');
  assert.equal(await via('/h', host('example.com')), 'host-any');
});

test('host matching ignores case and the port, unless the route names a port', async () => {
  assert.equal(await via('/h', host('API.Example.COM')), 'host-exact');
  assert.equal(await via('/h', host('api.example.com:8080')), 'host-exact');
  assert.equal(await via('/h', host('ports.test:8443')), 'host-port');
  assert.equal(await via('/h', host('ports.test:9999')), 'host-any');
});

test('an exact path beats the longest prefix, which beats a shorter prefix, which beats a regex', async () => {
  assert.equal(await via('/p/x'), 'path-exact');
  assert.equal(await via('/p/x/y'), 'path-long');
  assert.equal(await via('/p/y'), 'path-short');
  // The regex matches too, but any prefix that matches wins over it.
  assert.equal(await via('/p/y/z'), 'path-short');
});

test('a regex path beats a route of the same host that has no paths', async () => {
  assert.equal(await via('/q12', host('rx.test')), 'rx-regex');
  assert.equal(await via('/q1x', host('rx.test')), 'rx-any-path');
  assert.equal(await via('/q12'), 'path-regex');
});

test('a prefix matches whole segments: /api matches /api and /api/x but not /apix', async () => {
  assert.equal(await via('/api'), 'seg');
  assert.equal(await via('/api/'), 'seg');
  assert.equal(await via('/api/x'), 'seg');
  assert.equal(await via('/apix'), '404');
  assert.equal(await via('/ap'), '404');
});

test('methods narrow a route, and a route with a method condition beats one without', async () => {
  assert.equal(await via('/m'), 'm-get');
  assert.equal(await via('/m', { method: 'POST', body: 'x' }), 'm-post');
  assert.equal(await via('/m', { method: 'DELETE' }), 'm-any');
  assert.equal(await via('/monly', { method: 'DELETE' }), '404');
});

test('TRACE gets 405 with Allow and never reaches the upstream, unless the route lists TRACE', async () => {
  // The upstream would echo the request back, headers the gateway added included.
  const seen = () => upstreams.reduce((n, u) => n + u.seen.filter((s) => s.method === 'TRACE').length, 0);
  const res = await send(gw.url, '/m', { method: 'TRACE' });
  assert.equal(res.status, 405, res.text);
  assert.equal(res.json().code, 'GW_ERR_METHOD_NOT_ALLOWED');
  assert.equal(res.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  assert.equal(res.headers['x-request-id'], res.json().request_id);
  assert.equal(seen(), 0);
  // A route whose methods leave TRACE out does not match it at all.
  assert.equal(await via('/monly', { method: 'TRACE' }), '404');
  assert.equal(await via('/mtrace', { method: 'TRACE' }), 'm-trace');
  assert.equal(seen(), 1);
});

test('header conditions match exact values and ~regex, case-insensitively by name', async () => {
  assert.equal(await via('/hdr', { headers: { 'x-version': '2' } }), 'hdr-v2');
  assert.equal(await via('/hdr', { headers: { 'x-version': '3' } }), 'hdr-none');
  assert.equal(await via('/hdr', { headers: { 'X-Channel': 'beta-7' } }), 'hdr-beta');
  assert.equal(await via('/hdr', { headers: { 'x-channel': 'stable-beta-7' } }), 'hdr-none');
  assert.equal(await via('/hdr'), 'hdr-none');
});

test('a port-less Host, an IPv6 Host and no Host at all (HTTP/1.0) are routed without crashing', async () => {
  assert.equal(await via('/h', host('other.test')), 'host-any');
  assert.equal(await via('/h', host('[::1]:8080')), 'host-any');
  assert.equal(await via('/h', host('[::1]')), 'host-any');
  const unterminated = await rawRequest(gw.proxy.port, 'GET /h HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n');
  assert.ok(unterminated.status === 200 || unterminated.status === 400, unterminated.text);
  const http10 = await rawRequest(gw.proxy.port, 'GET /h HTTP/1.0\r\n\r\n');
  assert.equal(http10.status, 200, http10.text);
  assert.match(http10.text, /"name":"host-any"/);
  // Still serving.
  assert.equal(await via('/h', host('api.example.com')), 'host-exact');
});

test('a fully qualified Host (trailing dot) routes like the bare name', async () => {
  assert.equal(await via('/h', host('api.example.com.')), 'host-exact');
  assert.equal(await via('/h', host('x.eu.example.com.:8080')), 'host-wild-long');
  assert.equal(await via('/h', host('ports.test.:8443')), 'host-port');
});

test('an unsupported transfer coding gets 501 and a closed connection where no route matches too', async () => {
  // Refused before routing: a 404 on a kept-alive connection would leave the body's framing to chance.
  const res = await rawRequest(
    gw.proxy.port,
    'POST /nowhere HTTP/1.1\r\nHost: nowhere.test\r\nTransfer-Encoding: ' +
      'gzip, chunked\r\n\r\n0\r\n\r\nGET /h HTTP/1.1\r\nHost: api.example.com\r\n\r\n',
  );
  assert.equal(res.status, 501, res.text);
  assert.ok(res.closed, 'the connection stayed open');
  assert.equal(res.text.match(/HTTP\/1\.1 /g)?.length, 1, `the pipelined request was answered:\n${res.text}`);
});

test('a request no route matches gets 404 JSON {code, message, request_id} with the same X-Request-Id', async () => {
  const res = await send(gw.url, '/nowhere', { headers: { host: 'nowhere.test' } });
  assert.equal(res.status, 404);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json();
  assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'request_id']);
  assert.equal(body.code, 'GW_ERR_NO_ROUTE');
  assert.equal(typeof body.message, 'string');
  assert.ok(body.request_id.length > 0);
  assert.equal(res.headers['x-request-id'], body.request_id);

  const mine = await send(gw.url, '/nowhere', { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(mine.json().request_id, 'trace-42');
  assert.equal(mine.headers['x-request-id'], 'trace-42');
  assert.ok(upstreams.every((u) => u.seen.every((s) => s.url !== '/nowhere')));
});
