// A secret rotated out (a leaked key, say) ends what its API key holds open, as disabling the app does, but only
// that: a WebSocket connection closes with 1008, a long response is cut, a gRPC stream ends UNAUTHENTICATED, at once
// without an overlap and once the overlap is over with one; what the new secret opened goes on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { admin, createApp } from '../helpers/admin.ts';
import { followFeed, openSocket, startFeedAndSocketUpstream } from '../helpers/held-open.ts';
import { eventsWhere } from '../helpers/events.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { echoClient } from '../helpers/grpc-client.ts';

let upstream: Awaited<ReturnType<typeof startFeedAndSocketUpstream>>;
let echo: EchoServer;
let gw: TestGateway;

before(async () => {
  upstream = await startFeedAndSocketUpstream();
  echo = await startEchoServer();
  const url = upstream.url;
  gw = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      {
        name: 'live',
        routes: [{ paths: ['/feed', '/ws'] }],
        auth: { type: 'api_key' },
        upstream: { targets: [{ url }] },
      },
      {
        name: 'echo',
        routes: [{ paths: ['/helloworld.Echo/'], grpc: true }],
        auth: { type: 'api_key' },
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${echo.port}` }] },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  upstream?.close();
  await echo?.close();
});

const connect = (headers: Record<string, string>) => openSocket(`${gw.url.replace('http', 'ws')}/ws`, headers);
const follow = (headers: Record<string, string>) => followFeed(`${gw.url}/feed`, headers);
const key = (id: string, secret: string) => ({ 'x-api-key': `${id}.${secret}` });

async function rotate(id: string, overlapS: number): Promise<string> {
  const r = await admin(gw, 'POST', `/apps/${id}/secret?overlap_s=${overlapS}`);
  assert.equal(r.status, 200);
  return r.json.secret;
}

test('a secret rotated out without overlap closes its WebSocket (1008); the new secret’s stays', async () => {
  const app = await createApp(gw);
  const old = await connect(key(app.id, app.secret));
  const secret = await rotate(app.id, 0);
  assert.equal(await old.closed, 1008);
  const renewed = await connect(key(app.id, secret));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(renewed.ws.readyState, WebSocket.OPEN, 'the new secret’s connection is not touched');
  renewed.ws.close();
  const [event] = await eventually(() => eventsWhere(gw, (e) => e.appId === app.id && e.closeReason !== ''));
  assert.equal(event?.closeReason, 'credential_withdrawn');
});

test('with an overlap, what the old secret holds open lasts until the overlap is over, then is cut', async () => {
  const app = await createApp(gw);
  const [feed, ws] = [await follow(key(app.id, app.secret)), await connect(key(app.id, app.secret))];
  const rotatedMs = performance.now();
  await rotate(app.id, 2);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(feed.res.destroyed, false, 'still open within the overlap');
  assert.equal(ws.ws.readyState, WebSocket.OPEN);
  await feed.done;
  assert.equal(await ws.closed, 1008);
  const tookMs = performance.now() - rotatedMs;
  assert.ok(tookMs >= 1900 && tookMs < 5000, `ended ${Math.round(tookMs)} ms after the rotation`);
});

test('a gRPC stream opened with a secret rotated out ends UNAUTHENTICATED', async () => {
  const app = await createApp(gw);
  const client = echoClient(gw.port('internal'));
  try {
    const call = client.serverStream({ message: 'x', repeat: 600, delay_ms: 100 }, key(app.id, app.secret));
    await new Promise((r) => setTimeout(r, 500));
    await rotate(app.id, 0);
    const cut = await call;
    assert.equal(cut.error?.code, 16, `UNAUTHENTICATED, not ${cut.error?.code} ${cut.error?.details}`);
    assert.ok(cut.replies.length > 0 && cut.replies.length < 600);
  } finally {
    client.close();
  }
});
