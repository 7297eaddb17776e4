// A WebSocket handshake must not become a raw tunnel to the upstream: were an upstream's 101 to another protocol
// (h2c), or one without a valid Sec-WebSocket-Accept, taken as a switch, whatever the client sent next would reach
// the upstream as requests to any path, past routing and every stage ("WebSocket smuggling", h2c smuggling).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { type AddressInfo, connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, sleep, type TestGateway } from '../helpers/gateway.ts';
import { h2Handshake } from '../helpers/raw-websocket.ts';

/** Requests that reached the upstream's plain HTTP server over a switched connection: past the gateway. */
const smuggled: string[] = [];
/** The Upgrade header of each handshake the upstream got. */
const upgrades: string[] = [];
let upstream: Server;
let gw: TestGateway;

before(async () => {
  const inner = createServer((req, res) => {
    smuggled.push(`${req.method} ${req.url}`);
    res.end('inner');
  });
  upstream = createServer();
  // An upstream that switches to whatever it likes (h2c when offered), on /ws/forged with the accept of another
  // key, then serves plain HTTP on the connection.
  upstream.on('upgrade', (req, socket) => {
    upgrades.push(String(req.headers.upgrade));
    const protocol = String(req.headers.upgrade).includes('h2c') ? 'h2c' : 'websocket';
    const accept = req.url === '/ws/forged' ? 'Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n' : '';
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n${accept}\r\n`);
    inner.emit('connection', socket);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        name: 'chat',
        routes: [{ paths: ['/ws'] }],
        upstream: { targets: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  upstream?.close();
});

/** A handshake on /ws with `upgrade`, then a plain request for /admin written on the same connection. */
async function handshakeThenRequest(path: string, upgrade: string): Promise<string> {
  const socket = connect(gw.proxy.port, '127.0.0.1');
  let got = '';
  socket.on('data', (chunk) => (got += chunk));
  socket.on('error', () => {});
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await sleep(300);
  socket.write('GET /admin HTTP/1.1\r\nHost: a\r\n\r\n');
  await sleep(300);
  socket.destroy();
  return got;
}

test('an Upgrade offering h2c beside websocket goes upstream as websocket alone; an h2c switch is a 502', async () => {
  const got = await handshakeThenRequest('/ws', 'h2c, websocket');
  assert.match(got, /^HTTP\/1\.1 502 /);
  assert.match(got, /GW_ERR_BAD_GATEWAY/);
  assert.equal(upgrades.at(-1), 'websocket');
  assert.deepEqual(smuggled, []);
});

test('a 101 without the accept that answers the key is a 502, and nothing after it reaches the upstream', async () => {
  for (const path of ['/ws/no-accept', '/ws/forged']) {
    const got = await handshakeThenRequest(path, 'websocket');
    assert.match(got, /^HTTP\/1\.1 502 /, path);
    assert.doesNotMatch(got, /inner/, path);
  }
  assert.deepEqual(smuggled, []);
});

test('over HTTP/2 (RFC 8441), a switch that does not answer the gateway’s key opens no tunnel', async () => {
  const session = h2connect(`http://127.0.0.1:${gw.port('h2c')}`);
  await new Promise((r) => session.once('remoteSettings', r));
  const stream = session.request(h2Handshake('/ws', 'a'), { endStream: false });
  stream.on('error', () => {});
  const status = await new Promise<number>((r) => stream.once('response', (h) => r(Number(h[':status']))));
  stream.write('GET /admin HTTP/1.1\r\nHost: a\r\n\r\n');
  await sleep(300);
  session.destroy();
  assert.equal(status, 502);
  assert.deepEqual(smuggled, []);
});
