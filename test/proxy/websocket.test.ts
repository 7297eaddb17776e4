// WebSocket through the gateway: the handshake through the stages, frames both ways, close behaviour, counting.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { closedPort } from '../helpers/ports.ts';
import { admin, createApp } from '../helpers/admin.ts';
import { metric } from '../helpers/metrics.ts';
import { openWebSocket } from '../helpers/websocket-client.ts';

let upstream: Server;
let wss: WebSocketServer;
let gw: TestGateway;
let app: { id: string; secret: string };
/** Pings the upstream's connections got (from the gateway: ws clients here send none). */
let upstreamPings = 0;

before(async () => {
  upstream = createServer((_req, res) => res.writeHead(426).end('websocket only'));
  wss = new WebSocketServer({ noServer: true });
  upstream.on('upgrade', (req, socket, head) => {
    if (req.url?.startsWith('/ws/refuse')) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 6\r\n\r\nno way');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('ping', () => upstreamPings++);
      ws.on('message', (data, binary) => {
        const text = data.toString();
        // The upstream goes: its connection ends (FIN) or breaks (RST), with no close frame either way.
        if (text === 'end') return ws.terminate();
        if (text === 'die') return (ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
        if (text === 'bye') return ws.close(4000, 'asked');
        if (text === 'stall') {
          // Stops reading, so the gateway holds the client back; then breaks once the client has been held.
          const socket = (ws as unknown as { _socket: Socket })._socket;
          socket.pause();
          setTimeout(() => socket.resetAndDestroy(), 300);
          return;
        }
        if (text === 'handshake') return ws.send(`${req.url} ${req.headers['sec-websocket-protocol'] ?? '-'}`);
        if (text === 'credentials') return ws.send(`${req.headers.cookie ?? '-'} ${req.headers['x-api-key'] ?? '-'}`);
        ws.send(binary ? data : `echo:${text}:${req.headers['x-forwarded-for'] ? 'xff' : ''}`, { binary });
      });
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = upstreamUrl();
  gw = await startGateway({
    services: [
      { name: 'chat', routes: [{ paths: ['/ws'] }], upstream: { targets: [{ url }] } },
      {
        name: 'keyed',
        routes: [{ paths: ['/keyed'] }],
        auth: { type: 'api_key' },
        upstream: { targets: [{ url }] },
        websocket: { idle_timeout_ms: 300, max_connections_per_app: 1 },
      },
      {
        name: 'browser',
        routes: [{ paths: ['/browser'] }],
        auth: { type: 'api_key', websocket: { query_param: 'api_key', subprotocol_prefix: 'key.', cookie: 'tg' } },
        upstream: { targets: [{ url }] },
      },
      {
        name: 'limited',
        routes: [{ paths: ['/limited'] }],
        upstream: { targets: [{ url }] },
        websocket: { max_connections: 1, max_message_bytes: 1000 },
      },
      {
        name: 'pinged',
        routes: [{ paths: ['/pinged'] }],
        upstream: { targets: [{ url }] },
        websocket: { ping_interval_ms: 100, idle_timeout_ms: 0 },
      },
      {
        name: 'gone',
        routes: [{ paths: ['/gone'] }],
        upstream: { targets: [{ url: `http://127.0.0.1:${await closedPort()}` }] },
      },
    ],
  });
  app = await createApp(gw);
});
after(async () => {
  await gw?.close();
  wss?.close();
  upstream?.close();
});

function upstreamUrl(): string {
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

const open = (path: string, headers: Record<string, string> = {}) => openWebSocket(gw.url, path, { headers });

const next = (ws: WebSocket) => new Promise<string>((r) => ws.once('message', (data: Buffer) => r(data.toString())));
const closed = (ws: WebSocket) =>
  new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()])));

test('frames go both ways through the tunnel, and the connection is one access event with its bytes', async () => {
  const ws = await open('/ws/room-1');
  ws.send('hello');
  assert.equal(await next(ws), 'echo:hello:xff', 'the upstream saw X-Forwarded-For: the handshake went through');
  const big = Buffer.alloc(200_000, 7);
  ws.send(big);
  assert.equal((await next(ws)).length, big.length);
  ws.send('bye');
  assert.deepEqual(await closed(ws), [4000, 'asked'], "the upstream's close frame reaches the client as it was");
  const [event] = await eventsWhere(gw, (e) => e.route === 'chat-0' && e.status === 101);
  assert.ok(event, 'one event with status 101');
  assert.ok(event.bytesIn > 200_000 && event.bytesOut > 200_000, `${event.bytesIn} in, ${event.bytesOut} out`);
  assert.deepEqual([event.messagesIn, event.messagesOut, event.protocol], [3, 2, 'websocket']);
});

const keyed = () => ({ 'x-api-key': `${app.id}.${app.secret}` });

test('the stages run on the handshake: an API key lets it through, its absence gets an HTTP 401', async () => {
  await assert.rejects(open('/keyed/x'), /status 401/);
  const ws = await open('/keyed/x', keyed());
  ws.send('hi');
  assert.equal(await next(ws), 'echo:hi:xff');
  ws.close();
  await closed(ws);
  const [event] = await eventsWhere(gw, (e) => e.service === 'keyed' && e.status === 101);
  assert.equal(event?.appId, app.id);
});

test('a browser carries its key in the query, a subprotocol or a cookie; none of it reaches the upstream', async () => {
  const key = `${app.id}.${app.secret}`;
  const handshake = async (ws: WebSocket) => {
    ws.send('handshake');
    const seen = await next(ws);
    ws.close();
    return seen;
  };
  const query = await open(`/browser/q?x=1&api_key=${encodeURIComponent(key)}&y=2`);
  assert.equal(await handshake(query), '/browser/q?x=1&y=2 -');
  const offered = new WebSocket(`${gw.url.replace('http', 'ws')}/browser/p`, [`key.${key}`, 'chat.v1']);
  await new Promise((r) => offered.once('open', r));
  assert.equal(offered.protocol, 'chat.v1', 'the upstream chose from what was left');
  assert.equal(await handshake(offered), '/browser/p chat.v1');
  const cookie = await open('/browser/c', { cookie: `a=b; tg=${encodeURIComponent(key)}; c=d` });
  // Regression: the cookie went on, and the key from any of the three in X-Api-Key.
  cookie.send('credentials');
  assert.equal(await next(cookie), 'a=b; c=d -', 'the other cookies go on; the key in no header');
  assert.equal(await handshake(cookie), '/browser/c -');
  await assert.rejects(open('/browser/q?api_key=wrong.key'), /status 401/);
  await assert.rejects(open('/browser/none'), /status 401/);
});

test('an upstream that refuses the upgrade: its answer reaches the client; one that is down: 502', async () => {
  await assert.rejects(open('/ws/refuse'), /status 401/);
  await assert.rejects(open('/gone'), /status 502/);
});

test('an upstream that ends gets the client a 1001 close, one that breaks 1011; an idle connection 1001', async () => {
  const ending = await open('/ws/x');
  ending.send('end');
  assert.deepEqual((await closed(ending))[0], 1001);
  const ws = await open('/ws/x');
  ws.send('die');
  assert.deepEqual((await closed(ws))[0], 1011);
  const idle = await open('/keyed/x', keyed());
  const started = Date.now();
  assert.deepEqual((await closed(idle))[0], 1001);
  assert.ok(Date.now() - started >= 250, 'closed after idle_timeout_ms');
  const closes = (service: string, reason: string) =>
    metric(gw, 'tollgate_websocket_closed_total', `service="${service}",reason="${reason}"`);
  assert.ok((await closes('chat', 'upstream')) >= 1);
  assert.ok((await closes('chat', 'upstream_error')) >= 1);
  assert.equal(await closes('keyed', 'idle'), 1);
  assert.ok((await metric(gw, 'tollgate_websocket_messages_total', 'service="chat",direction="in"')) >= 5);
  assert.equal(await metric(gw, 'tollgate_websocket_connections', 'service="keyed"'), 0, 'none open any more');
});

test('an upstream that breaks while it holds the client back still ends the client connection', async () => {
  const ws = await open('/ws/stall');
  ws.send('stall');
  const ended = closed(ws);
  const chunk = Buffer.alloc(256 * 1024);
  for (let i = 0; i < 64; i++) ws.send(chunk); // far more than the sockets buffer: the gateway pauses the client
  const [code] = await ended;
  assert.ok([1006, 1011].includes(code), `closed (${code})`);
  await noneOpen('chat');
});

test('a client that leaves closes the upstream connection', async () => {
  const before = wss.clients.size;
  const ws = await open('/ws/leaving');
  ws.send('x');
  await next(ws);
  assert.equal(wss.clients.size, before + 1);
  ws.terminate();
  const deadline = Date.now() + 3000;
  while (wss.clients.size > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(wss.clients.size, before);
});

/** Waits until the gateway has seen the service's connections end (its side closes just after the client's). */
async function noneOpen(service: string): Promise<void> {
  const open = () => metric(gw, 'tollgate_websocket_connections', `service="${service}"`);
  assert.ok(await eventually(async () => (await open()) === 0, 3000), `${service}: connections still open`);
}

test('limits: connections per service and per app, and the size of a client message (1009)', async () => {
  const first = await open('/limited/a');
  await assert.rejects(open('/limited/b'), /status 503/);
  first.send('x'.repeat(1001));
  assert.deepEqual((await closed(first))[0], 1009, 'a message over max_message_bytes closes the connection');
  await noneOpen('limited');
  const again = await open('/limited/c'); // the place the first held is free again
  again.send('x'.repeat(1000));
  assert.equal((await next(again)).length, 'echo::xff'.length + 1000);
  again.close();
  await closed(again);
  const mine = await open('/keyed/a', keyed());
  await assert.rejects(open('/keyed/b', keyed()), /status 429/);
  mine.close();
  await closed(mine);
  await noneOpen('keyed');
  const later = await open('/keyed/c', keyed());
  later.close();
  await closed(later);
  assert.equal(await metric(gw, 'tollgate_websocket_closed_total', 'service="limited",reason="message_too_big"'), 1);
});

test('ping_interval_ms: both sides are pinged; a client that answers nothing is closed after two of them', async () => {
  const alive = await open('/pinged/a');
  let clientPings = 0;
  alive.on('ping', () => clientPings++);
  const before = upstreamPings;
  await new Promise((r) => setTimeout(r, 450));
  assert.ok(clientPings >= 3, `${clientPings} pings to the client`);
  assert.ok(upstreamPings - before >= 3, `${upstreamPings - before} pings to the upstream`);
  assert.equal(alive.readyState, WebSocket.OPEN, 'its pongs keep it open');
  alive.send('still');
  assert.equal(await next(alive), 'echo:still:xff');
  alive.close();
  const silent = new WebSocket(`${gw.url.replace('http', 'ws')}/pinged/b`, { autoPong: false });
  await new Promise((r) => silent.once('open', r));
  const started = Date.now();
  assert.equal((await closed(silent))[0], 1001);
  assert.ok(Date.now() - started < 1000, 'closed after two silent intervals');
});

test('malformed handshakes: no key, a wrong version, a POST, HTTP/1.0; no Connection: upgrade, refused', async () => {
  const handshake = (lines: string) =>
    rawRequest(gw.proxy.port, `${lines}Host: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`).then(
      (r) => r.text,
    );
  const noKey = await handshake('GET /ws HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n');
  assert.match(noKey, /^HTTP\/1\.1 400 [\s\S]*GW_ERR_WEBSOCKET_HANDSHAKE/);
  const version = await handshake(
    'GET /ws HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n',
  );
  assert.match(version, /^HTTP\/1\.1 426 [\s\S]*sec-websocket-version: 13[\s\S]*GW_ERR_WEBSOCKET_VERSION/i);
  const post = await handshake(
    'POST /ws HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n',
  );
  assert.match(post, /^HTTP\/1\.1 400 [\s\S]*GW_ERR_WEBSOCKET_HANDSHAKE/);
  const http10 = await handshake(
    'GET /ws HTTP/1.0\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n',
  );
  assert.match(http10, /^HTTP\/1\.1 400 [\s\S]*GW_ERR_WEBSOCKET_HANDSHAKE/);
  const { text: noConnection } = await rawRequest(
    gw.proxy.port,
    'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n',
  );
  assert.match(noConnection, /^HTTP\/1\.1 403 [\s\S]*GW_ERR_UPGRADE_NOT_SUPPORTED/);
});

test('an app disabled or deleted has its open connections closed with 1008; other apps keep theirs', async () => {
  const [one, two] = [await createApp(gw), await createApp(gw)];
  const as = (a: { id: string; secret: string }) => ({ 'x-api-key': `${a.id}.${a.secret}` });
  const [first, second] = [await open('/browser/one', as(one)), await open('/browser/two', as(two))];
  const firstClosed = closed(first);
  assert.equal((await admin(gw, 'PUT', `/apps/${one.id}`, { name: 'test app', status: 'disabled' })).status, 200);
  assert.deepEqual(await firstClosed, [1008, ''], 'disabled');
  second.send('hi');
  assert.equal(await next(second), 'echo:hi:xff', 'the other app’s connection goes on');
  const secondClosed = closed(second);
  assert.equal((await admin(gw, 'DELETE', `/apps/${two.id}`)).status, 204);
  assert.deepEqual(await secondClosed, [1008, ''], 'deleted');
  const ended = await eventsWhere(gw, (e) => e.service === 'browser' && [one.id, two.id].includes(e.appId), 2);
  assert.deepEqual(
    ended.map((e) => [e.closeCode, e.closeReason]),
    [
      [1008, 'app_disabled'],
      [1008, 'app_disabled'],
    ],
  );
  const reason = 'service="browser",reason="app_disabled"';
  assert.equal(await metric(gw, 'tollgate_websocket_closed_total', reason), 2);
});

test('a reload leaves an open connection on its config; shutdown sends it 1001 and waits for it to close', async () => {
  const local = await startGateway({
    services: [{ name: 'chat', routes: [{ paths: ['/ws'] }], upstream: { targets: [{ url: upstreamUrl() }] } }],
  });
  const ws = new WebSocket(`${local.url.replace('http', 'ws')}/ws/stays`);
  await new Promise((r) => ws.once('open', r));
  // The route goes away; the connection made on it stays, and a new one is refused.
  local.writeConfig({
    services: [{ name: 'other', routes: [{ paths: ['/other'] }], upstream: { targets: [{ url: upstreamUrl() }] } }],
  });
  const reload = await local.manager.reloadFromFile();
  assert.ok(reload.ok, JSON.stringify(reload));
  ws.send('still');
  assert.equal(await next(ws), 'echo:still:xff');
  const refused = new WebSocket(`${local.url.replace('http', 'ws')}/ws/new`);
  assert.match(
    await new Promise<string>((r) => refused.once('unexpected-response', (_q, res) => r(String(res.statusCode)))),
    /404/,
  );
  const closing = closed(ws);
  const started = Date.now();
  await local.close();
  assert.equal((await closing)[0], 1001);
  assert.ok(Date.now() - started < 2000, 'the connection closed before the drain timeout ran out');
});
