import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { h2Request } from '../helpers/tls-client.ts';
import { connect as h2Connect } from 'node:http2';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
let echo: TestUpstream;
let raw: RawUpstream;
let trailing: RawUpstream;
let doubled: RawUpstream;

const HOPPY_RESPONSE = [
  'HTTP/1.1 200 OK',
  'Content-Type: text/plain',
  'Content-Length: 2',
  'Connection: keep-alive, X-Up-Hop',
  'X-Up-Hop: secret',
  // A second Connection line names another one.
  'Connection: X-Up-Hop-2',
  'X-Up-Hop-2: secret',
  'Keep-Alive: timeout=99, max=7',
  'Proxy-Authenticate: Basic realm="up"',
  'Upgrade: h2c',
  'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA',
  'Trailer: X-Checksum',
  'X-End-To-End: kept',
  'X-Powered-By: upstream',
  'X-Resp-Set: from-upstream',
  'X-Resp-Add: from-upstream',
  'X-Request-Id: chosen-by-upstream',
  '',
  'ok',
].join('\r\n');

// Trailers that frame a connection: Node refuses to send them on HTTP/2 (and threw where nothing could catch it).
const TRAILING_RESPONSE = [
  'HTTP/1.1 200 OK',
  'Content-Type: text/plain',
  'Transfer-Encoding: chunked',
  'Trailer: X-Sum',
  '',
  '2',
  'ok',
  '0',
  'X-Sum: 42',
  'Upgrade: h2c',
  'Keep-Alive: timeout=3',
  'Connection: close',
  '',
  '',
].join('\r\n');

// Fields Node's HTTP/2 calls single-value (Content-Type, Location), each on two lines: an HTTP/2 client got a 502
// for the first, and no answer at all for the second (the 502's own head failed on the Location left behind).
const DOUBLED_RESPONSE = [
  'HTTP/1.1 200 OK',
  'Content-Type: text/plain',
  'Content-Type: text/html',
  'Location: /a',
  'Location: /b',
  'Content-Length: 2',
  '',
  'ok',
].join('\r\n');

const HOPS = ['x-up-hop', 'x-up-hop-2', 'proxy-authenticate', 'upgrade', 'http2-settings', 'trailer'];

before(async () => {
  echo = await startUpstream('echo');
  raw = await startRawUpstream((socket) => socket.write(HOPPY_RESPONSE));
  trailing = await startRawUpstream((socket) => socket.write(TRAILING_RESPONSE));
  doubled = await startRawUpstream((socket) => socket.write(DOUBLED_RESPONSE));
  const target = { targets: [{ url: echo.url }] };
  gw = await startGateway({
    trusted_proxies: ['127.0.0.5'],
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      { name: 'plain', routes: [{ paths: ['/plain'] }], upstream: target },
      {
        name: 'quiet',
        routes: [{ paths: ['/quiet'], response_headers: { remove: ['X-Request-Id'] } }],
        upstream: target,
      },
      { name: 'keephost', routes: [{ paths: ['/keephost'], preserve_host: true }], upstream: target },
      {
        name: 'ops',
        upstream: target,
        routes: [
          {
            paths: ['/ops'],
            request_headers: {
              add: { 'X-Added': 'gw' },
              set: { 'X-Set': 'gw', 'User-Agent': 'tollgate-test' },
              remove: ['X-Remove-Me', 'Cookie'],
            },
          },
        ],
      },
      { name: 'trailing', routes: [{ paths: ['/trailing'] }], upstream: { targets: [{ url: trailing.url }] } },
      { name: 'doubled', routes: [{ paths: ['/doubled'] }], upstream: { targets: [{ url: doubled.url }] } },
      {
        name: 'hoppy',
        upstream: { targets: [{ url: raw.url }] },
        routes: [
          {
            paths: ['/hoppy'],
            response_headers: {
              add: { 'X-Resp-Add': 'gw' },
              set: { 'X-Resp-Set': 'gw', 'X-Frame-Options': 'DENY' },
              remove: ['X-Powered-By'],
            },
          },
        ],
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  await echo?.close();
  await raw?.close();
  await trailing?.close();
  await doubled?.close();
});

/** Headers the echo upstream received. */
async function upstreamHeaders(path: string, headers: Record<string, string> = {}, localAddress?: string) {
  const res = await send(gw.url, path, { headers, localAddress });
  assert.equal(res.status, 200, res.text);
  return { sent: res.json().headers as Record<string, string>, res };
}

test('hop-by-hop request headers and headers named in Connection never reach the upstream', async () => {
  const { sent } = await upstreamHeaders('/plain', {
    connection: 'keep-alive, X-Client-Hop',
    'x-client-hop': 'secret',
    'keep-alive': 'timeout=99',
    te: 'trailers',
    upgrade: 'h2c',
    'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
    'proxy-authorization': 'Basic c2VjcmV0',
    'proxy-connection': 'keep-alive',
    'x-end-to-end': 'kept',
  });
  const hops = [
    'x-client-hop',
    'keep-alive',
    'te',
    'upgrade',
    'http2-settings',
    'proxy-authorization',
    'proxy-connection',
  ];
  for (const name of hops) {
    assert.equal(sent[name], undefined, `${name} reached the upstream`);
  }
  assert.ok(
    !String(sent.connection ?? '')
      .toLowerCase()
      .includes('x-client-hop'),
  );
  assert.equal(sent['x-end-to-end'], 'kept');
});

test('hop-by-hop response headers and headers named in Connection never reach the client', async () => {
  const res = await send(gw.url, '/hoppy');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'ok');
  for (const name of HOPS) assert.equal(res.headers[name], undefined, `${name} reached the client`);
  // The gateway's own keep-alive with the client is fine; the upstream's values are not.
  assert.ok(!String(res.headers['keep-alive'] ?? '').includes('99'));
  assert.ok(
    !String(res.headers.connection ?? '')
      .toLowerCase()
      .includes('x-up-hop'),
  );
  assert.equal(res.headers['x-end-to-end'], 'kept');
});

// Node refuses to send HTTP/2's connection-specific ones (RFC 9113 8.2.2) at all: one that got through failed the
// response, and the client waited for it for good.
test('an HTTP/2 client gets the same response, its hop-by-hop headers removed', async () => {
  const res = await h2Request(gw.port('h2c'), '/hoppy', undefined);
  assert.equal(res.status, 200);
  assert.equal(res.text, 'ok');
  for (const name of [...HOPS, 'keep-alive']) assert.equal(res.headers[name], undefined, `${name} reached the client`);
  assert.equal(res.headers['x-end-to-end'], 'kept');
});

test("an upstream's hop-by-hop trailers are dropped; its others reach an HTTP/2 client", async (t) => {
  const session = h2Connect(`http://127.0.0.1:${gw.port('h2c')}`);
  t.after(() => session.close());
  const got = await new Promise<{ text: string; trailers: Record<string, unknown> }>((resolve, reject) => {
    const stream = session.request({ ':path': '/trailing', te: 'trailers' });
    let text = '';
    let trailers: Record<string, unknown> = {};
    stream.on('data', (d) => (text += d));
    stream.on('trailers', (h) => (trailers = { ...h }));
    stream.on('end', () => resolve({ text, trailers }));
    stream.on('error', reject);
  });
  assert.equal(got.text, 'ok');
  assert.equal(got.trailers['x-sum'], '42');
  for (const name of ['upgrade', 'keep-alive', 'connection']) assert.equal(got.trailers[name], undefined, name);
  assert.equal((await h2Request(gw.port('h2c'), '/plain', undefined)).status, 200, 'the gateway serves on');
});

test('a field an upstream sent twice reaches an HTTP/2 client twice, as HTTP/1.1, single-value or not', async (t) => {
  const h1 = await send(gw.url, '/doubled');
  assert.equal(h1.status, 200);
  const lines = (name: string, raw: string[]) =>
    raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === name);
  assert.deepEqual(lines('location', h1.rawHeaders), ['/a', '/b']);
  const session = h2Connect(`http://127.0.0.1:${gw.port('h2c')}`);
  t.after(() => session.close());
  const raw = await new Promise<string[]>((resolve, reject) => {
    const stream = session.request({ ':path': '/doubled' });
    stream.on('response', (_h, _flags, rawHeaders: string[]) => resolve(rawHeaders));
    stream.on('error', reject);
    stream.resume();
  });
  assert.deepEqual(lines(':status', raw), ['200']);
  assert.deepEqual(lines('content-type', raw), ['text/plain', 'text/html']);
  assert.deepEqual(lines('location', raw), ['/a', '/b']);
});

test('X-Forwarded-For is appended with the client address; -Proto and -Host are set, not trusted', async () => {
  const first = await upstreamHeaders(
    '/plain',
    { host: 'shop.test:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' },
    '127.0.0.9',
  );
  assert.equal(first.sent['x-forwarded-for'], '127.0.0.9');
  assert.equal(first.sent['x-forwarded-proto'], 'http');
  assert.equal(first.sent['x-forwarded-host'], 'shop.test:8080');
  const chained = await upstreamHeaders('/plain', { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' });
  assert.equal(chained.sent['x-forwarded-for'], '203.0.113.7, 10.0.0.1, 127.0.0.1');
});

// Regression: all of these reached the upstream as the client wrote them, so a client could name its own address
// (X-Real-IP), the host, port and path prefix a framework builds links from (Forwarded, X-Forwarded-Port/-Prefix),
// another URL (X-Original-URL, read by Symfony and IIS) or another method than the route's rules checked.
test('forwarding headers are dropped unless from a trusted proxy; URL and method overrides always are', async () => {
  const spoofed = {
    forwarded: 'for=198.51.100.1;proto=https;host=evil.test',
    'x-forwarded-port': '8443',
    'x-forwarded-prefix': '/evil',
    'x-real-ip': '198.51.100.1',
    'true-client-ip': '198.51.100.1',
    'x-original-url': '/admin',
    'x-http-method-override': 'DELETE',
  };
  const { sent } = await upstreamHeaders('/plain', spoofed, '127.0.0.9');
  assert.equal(sent['x-real-ip'], '127.0.0.9', 'X-Real-IP is the client address');
  for (const name of Object.keys(spoofed).filter((n) => n !== 'x-real-ip')) assert.equal(sent[name], undefined, name);
  // From a proxy in trusted_proxies, what it says of the client's connection goes on; overrides still do not.
  const fromBalancer = {
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'shop.test',
  };
  const trusted = await upstreamHeaders('/plain', { ...spoofed, ...fromBalancer }, '127.0.0.5');
  assert.equal(trusted.sent['x-real-ip'], '203.0.113.7', 'the client the trusted proxy named');
  assert.equal(trusted.sent['x-forwarded-proto'], 'https', 'the scheme the client used with the balancer');
  assert.equal(trusted.sent['x-forwarded-host'], 'shop.test');
  assert.equal(trusted.sent.forwarded, spoofed.forwarded);
  assert.equal(trusted.sent['x-forwarded-prefix'], '/evil');
  assert.equal(trusted.sent['x-original-url'], undefined);
  assert.equal(trusted.sent['x-http-method-override'], undefined);
});

test('the upstream sees its own host unless the route preserves the client Host', async () => {
  const plain = await upstreamHeaders('/plain', { host: 'shop.test' });
  assert.equal(plain.sent.host, `127.0.0.1:${echo.port}`);
  const kept = await upstreamHeaders('/keephost', { host: 'shop.test' });
  assert.equal(kept.sent.host, 'shop.test');
  // Host is for every hop: naming it in Connection must not swap the virtual host routing chose for the target's.
  const named = await upstreamHeaders('/keephost', { host: 'shop.test', connection: 'keep-alive, Host' });
  assert.equal(named.sent.host, 'shop.test');
});

test('a valid client X-Request-Id is kept and returned to the client', async () => {
  const { sent, res } = await upstreamHeaders('/plain', { 'x-request-id': 'order-42.retry:1' });
  assert.equal(sent['x-request-id'], 'order-42.retry:1');
  assert.equal(res.headers['x-request-id'], 'order-42.retry:1');
});

test('a missing or invalid X-Request-Id is replaced by a generated one, the same upstream and downstream', async () => {
  const ids = new Set<string>();
  for (const given of [undefined, 'has spaces in it', 'x'.repeat(200), '<script>']) {
    const { sent, res } = await upstreamHeaders('/plain', given === undefined ? {} : { 'x-request-id': given });
    const id = sent['x-request-id'];
    assert.ok(id && id !== given, `kept ${given}`);
    assert.match(id, /^[A-Za-z0-9._:@+=/-]{1,128}$/);
    assert.equal(res.headers['x-request-id'], id);
    ids.add(id);
  }
  assert.equal(ids.size, 4, 'generated ids repeat');
});

test('the client sees the gateway request id, not one the upstream sent', async () => {
  const res = await send(gw.url, '/hoppy', { headers: { 'x-request-id': 'mine-1' } });
  assert.equal(res.headers['x-request-id'], 'mine-1');
});

test("a route's response_headers can keep the request id from the client; the upstream still gets it", async () => {
  const { sent, res } = await upstreamHeaders('/quiet', { 'x-request-id': 'internal-7' });
  assert.equal(sent['x-request-id'], 'internal-7');
  assert.equal(res.headers['x-request-id'], undefined);
});

test('request_headers add, set and remove, with names in any case', async () => {
  const { sent } = await upstreamHeaders('/ops', {
    'x-added': 'client',
    'x-set': 'client',
    'x-remove-me': 'bye',
    cookie: 'session=1',
    'user-agent': 'curl/8',
  });
  assert.equal(sent['x-added'], 'client, gw');
  assert.equal(sent['x-set'], 'gw');
  assert.equal(sent['user-agent'], 'tollgate-test');
  assert.equal(sent['x-remove-me'], undefined);
  assert.equal(sent.cookie, undefined);
  const bare = await upstreamHeaders('/ops');
  assert.equal(bare.sent['x-added'], 'gw');
});

test('response_headers add, set and remove', async () => {
  const res = await send(gw.url, '/hoppy');
  assert.equal(res.headers['x-powered-by'], undefined);
  assert.equal(res.headers['x-resp-set'], 'gw');
  assert.equal(res.headers['x-frame-options'], 'DENY');
  const added: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2)
    if (res.rawHeaders[i].toLowerCase() === 'x-resp-add') added.push(res.rawHeaders[i + 1]);
  assert.deepEqual(added.join(', ').split(', '), ['from-upstream', 'gw']);
});
