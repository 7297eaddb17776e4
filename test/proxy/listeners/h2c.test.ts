import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as h2Server, connect as h2Connect, type ServerHttp2Stream } from 'node:http2';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventually, service, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { refusals } from '../../helpers/metrics.ts';
import { h2Request } from '../../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-h2c-'));
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'api.test', dns: ['api.test'] });
let upstream: TestUpstream;
/** An upstream that declares its length, as Node does when end() alone writes the body. */
let sized: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream('up');
  sized = await startUpstream('sized', (_req, res) => res.end('thirteen byte'));
  gw = await startGateway({
    proxy: { header_timeout_ms: 300, request_timeout_ms: 1000 },
    listeners: [
      { name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] },
      { name: 'grpc-only', listen: '127.0.0.1:0', protocols: ['h2c'] },
      { name: 'public', listen: '127.0.0.1:0', tls: { certificates: [cert], handshake_timeout_ms: 300 } },
    ],
    services: [
      service('api', [upstream.url], [{ paths: ['/api'] }]),
      service('sized', [sized.url], [{ paths: ['/sized'] }]),
    ],
  });
});
after(async () => {
  await gw?.close();
  await upstream?.close();
  await sized?.close();
});

test('h2c with prior knowledge and HTTP/1.1 share a cleartext port, and both go through the routes', async () => {
  const port = gw.port('internal');
  const h2 = await h2Request(port, '/api/two', undefined, {}, 'body over h2c');
  assert.equal(h2.status, 200);
  assert.equal(JSON.parse(h2.text).url, '/api/two');
  const h1 = await fetch(`http://127.0.0.1:${port}/api/one`, { method: 'POST', body: 'body over h1' });
  assert.equal(h1.status, 200);
  assert.equal((await h1.json()).url, '/api/one');
  assert.equal((await h2Request(port, '/elsewhere', undefined)).status, 404);
  assert.equal((await h2Request(gw.port('grpc-only'), '/api/x', undefined)).status, 200);
});

/** Writes `text` and resolves with what the gateway sent back once it closed the connection. */
function exchange(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('close', () => resolve(got));
    socket.on('error', () => undefined);
    socket.write(text);
  });
}

test('an h2c-only listener closes a client that does not start with the HTTP/2 preface, and counts it', async () => {
  const socket = netConnect(gw.port('grpc-only'), '127.0.0.1');
  const answer = await exchange(socket, 'GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.ok(!answer.startsWith('HTTP/1.1 200'), 'never served as HTTP/1.1');
  await eventually(async () => (await refusals(gw, 'grpc-only', 'bad_h2_preface')) === 1);
  assert.equal(await refusals(gw, 'grpc-only', 'bad_h2_preface'), 1);
});

test('a client too slow with its request head is cut on the sniffing and the TLS listeners alike', async () => {
  const started = Date.now();
  const plain = netConnect(gw.port('internal'), '127.0.0.1');
  const slowPlain = exchange(plain, 'GET /api/x HTTP/1.1\r\nHost: a\r\n');
  const secure = tlsConnect({
    port: gw.port('public'),
    host: '127.0.0.1',
    ca: readFileSync(ca.cert),
    checkServerIdentity: () => undefined,
  });
  await new Promise((r) => secure.once('secureConnect', r));
  const slowSecure = exchange(secure as unknown as Socket, 'GET /api/x HTTP/1.1\r\nHost: a\r\n');
  const [a, b] = await Promise.all([slowPlain, slowSecure]);
  assert.ok(Date.now() - started < 5000, 'closed by header_timeout_ms, not left open');
  assert.match(a, /^HTTP\/1\.1 408 /);
  assert.match(b, /^HTTP\/1\.1 408 /);
});

test('a client that never finishes the TLS handshake is closed after handshake_timeout_ms, and counted', async () => {
  const started = Date.now();
  const silent = netConnect(gw.port('public'), '127.0.0.1');
  const half = netConnect(gw.port('public'), '127.0.0.1');
  // The first bytes of a ClientHello (a record header and the start of the message), and nothing more.
  const closed = Promise.all([exchange(silent, ''), exchange(half, '\x16\x03\x01\x02\x00\x01\x00\x01')]);
  const cut = setTimeout(() => [silent, half].forEach((s) => s.destroy()), 5000);
  const [a, b] = await closed;
  clearTimeout(cut);
  assert.equal(a + b, '', 'closed without an answer');
  assert.ok(Date.now() - started < 3000, `closed at the timeout, not left open: ${Date.now() - started} ms`);
  assert.equal(await refusals(gw, 'public', 'tls_handshake_timeout'), 2);
});

test('an HTTP/2 header list over max_header_list_bytes gets 431, and the listener serves on', async () => {
  const port = gw.port('internal');
  assert.equal((await h2Request(port, '/api/fits', undefined, { 'x-big': 'a'.repeat(10_000) })).status, 200);
  assert.equal((await h2Request(port, '/api/big', undefined, { 'x-big': 'a'.repeat(20_000) })).status, 431);
  assert.equal((await h2Request(port, '/api/after', undefined)).status, 200);
});

test('a Host that names another host than :authority is a 400 that reaches no upstream (RFC 9113 8.3.1)', async (t) => {
  const session = h2Connect(`http://127.0.0.1:${gw.port('internal')}`);
  t.after(() => session.destroy());
  const ask = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = session.request({ ':path': '/api/authority', ...headers });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.resume();
    });
  const seen = upstream.seen.length;
  assert.equal(await ask({ ':authority': 'api.test', host: 'other.test' }), 400, 'routing and upstream read one host');
  assert.equal(upstream.seen.length, seen, 'nothing reached the upstream');
  assert.equal(await ask({ ':authority': 'api.test', host: 'API.test' }), 200, 'the same host, in another case');
});

/** The prototype Node's HTTP/2 server streams share (the class is not exported), from a server of our own. */
async function serverStreamPrototype(): Promise<ServerHttp2Stream> {
  const server = h2Server();
  const got = new Promise<ServerHttp2Stream>((resolve) =>
    server.once('stream', (stream) => {
      resolve(Object.getPrototypeOf(stream));
      stream.respond({ ':status': 204 }, { endStream: true });
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = h2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  session.request({ ':path': '/' }).resume();
  const proto = await got;
  session.destroy();
  server.close();
  return proto;
}

test('a response whose whole body came with its head reaches an HTTP/2 client with its end, in a write', async (t) => {
  // The access event's group commit ends a response a turn of the loop later. A head sent at once, before it, left
  // in a write of its own; respond() and end() in one synchronous run leave in one (decision 22).
  const proto = await serverStreamPrototype();
  const respond = proto.respond;
  const endedWithHead: boolean[] = [];
  proto.respond = function (this: ServerHttp2Stream, ...args: Parameters<typeof respond>) {
    respond.apply(this, args);
    queueMicrotask(() => endedWithHead.push(this.writableEnded));
  };
  t.after(() => {
    proto.respond = respond;
  });
  const answer = await h2Request(gw.port('internal'), '/sized', undefined);
  assert.equal(answer.status, 200);
  assert.equal(answer.text, 'thirteen byte');
  assert.deepEqual(endedWithHead, [true], 'the head went with the end of its response');
});
