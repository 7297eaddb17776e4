// HTTP/1.1 pipelining: requests sent before their answers came are served one at a time, in order; a client that
// queues more than proxy.max_pipelined_requests loses the connection; a WebSocket handshake or a CONNECT behind
// requests still being answered waits for their answers (it used to end the process: ERR_HTTP_SOCKET_ASSIGNED).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { refusals } from '../helpers/metrics.ts';
import { accept, handshake } from '../helpers/raw-websocket.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
let up: TestUpstream;
/** Requests the upstream is answering now, and the most it ever answered at once. */
let active = 0;
let mostActive = 0;

before(async () => {
  // Answers `/n?delay=ms` after that delay with `n`, reading any body first; upgrades to an echo tunnel.
  up = await startUpstream('pipelined', (req, res) => {
    active++;
    mostActive = Math.max(mostActive, active);
    const url = new URL(req.url ?? '/', 'http://x');
    let body = 0;
    req.on('data', (c: Buffer) => (body += c.length));
    req.on('end', () =>
      setTimeout(
        () => {
          active--;
          res.end(`${url.pathname.slice(1)}:${body}`);
        },
        Number(url.searchParams.get('delay') ?? 0),
      ),
    );
  });
  up.server.on('upgrade', (req, socket: Socket) => {
    accept(req, socket);
    socket.pipe(socket);
  });
  gw = await startGateway({
    proxy: { max_pipelined_requests: 8 },
    services: [{ name: 'p', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: up.url }] } }],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

/** Writes `bytes` on a new connection; resolves with all it read once `until` holds or the connection closed. */
function exchange(bytes: string, until: (text: string) => boolean): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(gw.proxy.port, '127.0.0.1');
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => done(false), 10_000);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (until(text)) done(false);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => {});
    socket.write(bytes);
  });
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: a\r\n\r\n`;
const bodies = (text: string) => [...text.matchAll(/\r\n\r\n(\w+:\d+)/g)].map((m) => m[1]);

test('pipelined requests, a body among them, are served one at a time and answered in order', async () => {
  mostActive = 0;
  // The first is the slowest: served together, the later ones would reach the upstream while it waits.
  const requests = [
    get('/1?delay=150'),
    get('/2?delay=50'),
    'POST /3 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello',
  ];
  for (let i = 4; i <= 8; i++) requests.push(get(`/${i}`));
  const { text } = await exchange(requests.join(''), (t) => bodies(t).length === 8);
  assert.deepEqual(bodies(text), ['1:0', '2:0', '3:5', '4:0', '5:0', '6:0', '7:0', '8:0']);
  assert.equal(mostActive, 1, 'the upstream had more than one of them at once');
});

test('more than max_pipelined_requests waiting closes the connection, before any reaches the upstream', async () => {
  const seen = up.seen.length;
  const before = await refusals(gw, 'proxy', 'pipeline_overflow');
  const requests = [get('/slow?delay=300')];
  for (let i = 0; i < 9; i++) requests.push(get(`/queued${i}`));
  const { closed, text } = await exchange(requests.join(''), () => false);
  assert.equal(closed, true);
  assert.equal(text, '', 'the connection was cut, no answer written');
  assert.equal(await refusals(gw, 'proxy', 'pipeline_overflow'), before + 1);
  // Only the first was begun (and aborted when the connection went); none of the waiting ones was sent.
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(
    up.seen.slice(seen).map((s) => s.url),
    ['/slow?delay=300'],
  );
  // Eight waiting is allowed; the gateway serves on.
  const eight = [get('/a?delay=50'), ...Array.from({ length: 8 }, (_, i) => get(`/b${i}`))].join('');
  assert.equal(bodies((await exchange(eight, (t) => bodies(t).length === 9)).text).length, 9);
  assert.equal((await send(gw.url, '/after')).status, 200);
});

test('a WebSocket handshake pipelined behind a request waits for its answer, then tunnels', async () => {
  const { text } = await exchange(get('/first?delay=200') + handshake('/ws'), (t) => / 101 [\s\S]*\r\n\r\n/.test(t));
  assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nfirst:0HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.equal((await send(gw.url, '/after')).status, 200, 'the gateway serves on');
});

test('a CONNECT pipelined behind a request is refused after that answer, not in the middle of it', async () => {
  const { text } = await exchange(`${get('/first?delay=200')}CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n`, (t) =>
    /GW_ERR_METHOD_NOT_SUPPORTED[\s\S]*\}/.test(t),
  );
  assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nfirst:0HTTP\/1\.1 501 /);
  assert.equal((await send(gw.url, '/after')).status, 200);
});
