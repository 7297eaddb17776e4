// An upstream that answers a WebSocket handshake with something other than 101 has its answer passed to the client,
// and the two stay tied for as long as that answer lasts. Without that, an endless answer (an event stream on the
// same path) kept the upstream's connection open for good after the client left, one more with each handshake, and
// an answer broken off half-way left the client waiting on the rest for good. Over HTTP/2 a 2xx other than 101 is
// not passed on: any 2xx to an extended CONNECT opens the client's tunnel (RFC 8441).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as connectH2 } from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, startGateway, type TestGateway, service } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { h2Handshake } from '../helpers/raw-websocket.ts';

let upstream: Server;
let gw: TestGateway;
/** The upstream's answers still open. */
let open = 0;

before(async () => {
  upstream = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const tick = setInterval(() => res.write('data: tick\n\n'), 20);
      res.on('close', () => clearInterval(tick));
      return;
    }
    if (req.url === '/empty') return void res.writeHead(204).end();
    // /broken: a declared body cut off after its first bytes.
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000 });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 50);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [service('site', [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`])],
  });
});
after(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

/** A handshake for `path`: what came back once `done(text)` says so, the connection closed, or 3 s passed. */
function handshake(path: string, done: (text: string) => boolean): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    let text = '';
    socket.on('data', (c) => {
      text += c.toString('latin1');
      if (done(text)) {
        socket.destroy();
        resolve({ text, closed: false });
      }
    });
    socket.on('error', () => undefined);
    // Not closed within 3 s: left waiting (the test says so at once rather than at its own timeout).
    const waited = setTimeout(() => {
      resolve({ text, closed: false });
      socket.destroy();
    }, 3000);
    socket.on('close', () => {
      clearTimeout(waited);
      resolve({ text, closed: true });
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: site.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
}

test('a client that leaves an endless answer to its handshake takes the upstream connection with it', async () => {
  for (let i = 0; i < 5; i++) {
    const { text } = await handshake('/events', (t) => t.includes('data: tick'));
    assert.match(text, /^HTTP\/1\.1 200 /);
  }
  assert.ok(await eventually(() => open === 0), `${open} upstream answers still open`);
});

test('an answer the upstream breaks off cuts the client connection, counted as aborted', async () => {
  const before = await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_BAD_GATEWAY"');
  const started = Date.now();
  const { text, closed } = await handshake('/broken', () => false);
  assert.ok(closed, 'cut, not left waiting');
  assert.ok(text.endsWith('partial'), text);
  assert.ok(Date.now() - started < 2000, 'cut at once');
  assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_BAD_GATEWAY"'), before + 1);
});

test('over HTTP/2 a 2xx that is no 101 is a 502: a 2xx to a CONNECT tells the client its tunnel is open', async () => {
  const session = connectH2(`http://127.0.0.1:${gw.port('h2c')}`);
  session.on('error', () => undefined);
  try {
    for (const path of ['/events', '/empty']) {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request(h2Handshake(path, 'site.test'));
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
      assert.equal(status, 502, path);
    }
  } finally {
    session.close();
  }
  assert.ok(await eventually(() => open === 0), `${open} upstream answers still open`);
});

test('a client that sent frames behind a refused handshake is let go when it closes: the request ends', async () => {
  const frame = Buffer.from([0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e]); // "hello", masked
  for (const [path, version, status] of [
    ['/empty', '13', '204'], // the upstream's refusal
    ['/empty', '8', '426'], // the gateway's own
  ]) {
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    let text = '';
    const answered = new Promise<void>((resolve) =>
      socket.on('data', (c) => {
        text += c.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve();
      }),
    );
    // The frame comes with the handshake, as from a client that does not wait for the 101: the gateway has it unread.
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: site.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Version: ${version}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    socket.write(frame);
    await answered;
    assert.equal(text.slice(9, 12), status, text);
    socket.end();
    // Held, the request was never done: never counted, and its connection and state kept for good.
    assert.ok(
      await eventually(async () => (await metric(gw, 'tollgate_inflight_requests')) === 0),
      `${path} (version ${version}): the request is still in flight`,
    );
  }
});
