// WebSocket over HTTP/2 (RFC 8441): an extended CONNECT with :protocol websocket on an h2c listener becomes a
// tunnel to the upstream's HTTP/1.1 WebSocket, through the same stages and counting as an HTTP/1.1 handshake.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { createApp } from '../helpers/admin.ts';
import { h2Handshake } from '../helpers/raw-websocket.ts';

let upstream: Server;
let gw: TestGateway;
let session: ClientHttp2Session;

before(async () => {
  upstream = createServer();
  const wss = new WebSocketServer({ noServer: true });
  upstream.on('upgrade', (req, socket, head) => {
    if (req.url === '/ws/refuse') return void socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\nno');
    wss.handleUpgrade(req, socket, head, (ws) =>
      ws.on('message', (m) => ws.send(`echo:${m}:${req.headers['x-forwarded-proto']}`)),
    );
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
      {
        name: 'cookie',
        routes: [{ paths: ['/cookie'] }],
        auth: { type: 'api_key', websocket: { cookie: 'tg' } },
        upstream: { targets: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] },
      },
    ],
  });
  session = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  await new Promise((r) => session.once('remoteSettings', r));
});

after(async () => {
  // Graceful: the client waits on its refused CONNECT streams and holds the connection half-open, which the
  // gateway's shutdown must cut rather than wait on (listeners/set.ts closeAll).
  session?.close();
  await gw?.close();
  upstream?.close();
});

function open(path: string, extra: Record<string, string> = {}): ClientHttp2Stream {
  return session.request({ ...h2Handshake(path, 'chat.test'), ...extra });
}

const status = (stream: ClientHttp2Stream) =>
  new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));

/** A client's text frame: masked, as RFC 6455 5.3 wants. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const key = Buffer.from([9, 8, 7, 6]);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), key, payload.map((b, i) => b ^ key[i % 4]!)]);
}

test('the listener offers extended CONNECT, and a WebSocket over it echoes through the upstream', async () => {
  assert.equal(session.remoteSettings.enableConnectProtocol, true);
  const stream = open('/ws/chat');
  assert.equal(await status(stream), 200, 'RFC 8441: 200 opens the tunnel');
  stream.write(textFrame('hello'));
  const frame = await new Promise<Buffer>((r) => stream.once('data', r));
  assert.deepEqual([frame[0], frame.subarray(2).toString()], [0x81, 'echo:hello:http']);
  stream.close();
  const [e] = await eventsWhere(gw, (x) => x.service === 'chat' && x.status === 200);
  assert.equal(e?.protocol, 'websocket');
  assert.equal(e?.upstreamStatus, 101);
  assert.equal(e?.method, 'CONNECT');
  assert.equal(e?.messagesIn, 1);
});

test('a wrong version gets 426 naming 13; a CONNECT for anything but WebSocket gets 501', async () => {
  const old = open('/ws/chat', { 'sec-websocket-version': '8' });
  const answer = await new Promise<Record<string, unknown>>((r) => old.once('response', r));
  assert.deepEqual([answer[':status'], answer['sec-websocket-version']], [426, '13']);
  old.close();
  const tunnel = session.request({ ':method': 'CONNECT', ':authority': 'example.test:443' });
  assert.equal(await status(tunnel), 501);
  tunnel.close();
});

test("an upstream that refuses the handshake: the client gets the upstream's answer", async () => {
  const stream = open('/ws/refuse');
  assert.equal(await status(stream), 401);
  stream.close();
});

test("a cookie credential over HTTP/2 too: only from the gateway's own origin (its :authority)", async () => {
  const { id, secret } = await createApp(gw);
  const cookie = `tg=${encodeURIComponent(`${id}.${secret}`)}`;
  const foreign = open('/cookie/a', { cookie, origin: 'https://evil.example' });
  assert.equal(await status(foreign), 403);
  foreign.close();
  const own = open('/cookie/b', { cookie, origin: 'http://chat.test' });
  assert.equal(await status(own), 200);
  own.close();
});
