// A client's HTTP/2 connection that closes leaves nothing behind: Node's quiet timer for its session (keep_alive_ms,
// 65 s by default) would otherwise keep running and hold the closed session until it fired.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import { connect, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startGateway, type TestGateway, service } from '../helpers/gateway.ts';
import { closeServer, listenLocal } from '../helpers/upstream.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let upstream: Server;
let gw: TestGateway;

before(async () => {
  upstream = createServer((_req, res) => res.end('ok'));
  const url = await listenLocal(upstream);
  gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [service('api', [url])],
  });
});
after(async () => {
  await gw?.close();
  await closeServer(upstream);
});

/** One connection: a request answered, then closed by the client (GOAWAY) or cut (a reset). */
async function oneConnection(cut: boolean): Promise<void> {
  const session = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  session.on('error', () => undefined);
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    req.on('response', (headers) => resolve(headers[':status']));
    req.on('error', reject);
    req.resume();
  });
  assert.equal(status, 200);
  const closed = new Promise((resolve) => session.once('close', resolve));
  if (cut) session.socket.resetAndDestroy();
  else session.close();
  await closed;
}

test('closed HTTP/2 connections are let go at once, not keep_alive_ms (65 s) later', async () => {
  // The gateway's side of each connection, seen through Node's diagnostics channel as its stream starts.
  const sessions = new Set<WeakRef<Http2Session>>();
  const seen = (message: unknown) => {
    const session = (message as { stream: ServerHttp2Stream }).stream.session;
    if (session !== undefined) sessions.add(new WeakRef(session));
  };
  subscribe('http2.server.stream.start', seen);
  try {
    for (let i = 0; i < 20; i++) await oneConnection(i % 2 === 1);
  } finally {
    unsubscribe('http2.server.stream.start', seen);
  }
  assert.equal(sessions.size, 20);
  const held = () => [...sessions].filter((s) => s.deref() !== undefined).length;
  for (let i = 0; i < 10 && held() > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
  }
  assert.equal(held(), 0, 'sessions of closed connections are still held');
});
