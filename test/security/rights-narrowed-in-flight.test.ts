// An app's rights narrowed while it holds connections open (a role taken away, its allowed addresses changed): what
// the route would now refuse is ended as a disabled app's is, a WebSocket with 1008 and a long response cut, within
// the sweep; what its rights still cover, and other apps' connections, go on.
import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { admin, createApp } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { eventually, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';

let upstream: Server;
let gw: TestGateway;

before(async () => {
  // Server-sent events that never end on /feed, and WebSocket on /ws.
  upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
  });
  const wss = new WebSocketServer({ noServer: true });
  upstream.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, () => undefined));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startGateway({
    services: [
      {
        name: 'live',
        routes: [
          { name: 'ws', paths: ['/ws'] },
          { name: 'feed', paths: ['/feed'] },
        ],
        auth: { type: 'api_key' },
        rbac: { roles: { chat: [{ routes: ['ws'] }], news: [{ routes: ['feed'] }] } },
        upstream: { targets: [{ url }] },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

const key = (app: { id: string; secret: string }) => ({ 'x-api-key': `${app.id}.${app.secret}` });

async function connect(headers: Record<string, string>) {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return { ws, closed };
}

function follow(headers: Record<string, string>) {
  return new Promise<{ res: IncomingMessage; done: Promise<unknown> }>((resolve, reject) => {
    get(`${gw.url}/feed`, { headers }, (res) => {
      const done = new Promise((settle) => res.once('close', settle));
      res.once('data', () => resolve({ res, done }));
      res.on('error', () => undefined);
    }).once('error', reject);
  });
}

test('a role taken away closes the WebSocket it granted (1008 forbidden); a feed another grants goes on', async () => {
  const app = await createApp(gw, { roles: ['chat', 'news'] });
  const other = await createApp(gw, { roles: ['chat'] });
  const [ws, feed, bystander] = [await connect(key(app)), await follow(key(app)), await connect(key(other))];
  assert.equal((await admin(gw, 'PUT', `/apps/${app.id}`, { name: 'test app', roles: ['news'] })).status, 200);
  assert.equal(await ws.closed, 1008);
  await sleep(1500);
  assert.equal(feed.res.destroyed, false, 'its news role still grants the feed');
  assert.equal(bystander.ws.readyState, WebSocket.OPEN, 'another app keeps its connection');
  const [event] = await eventually(() => eventsWhere(gw, (e) => e.appId === app.id && e.closeReason !== ''));
  assert.equal(event?.closeReason, 'forbidden');
  feed.res.destroy();
  bystander.ws.close();
});

test('allowed addresses that leave the client out cut its open feed and close its WebSocket', async () => {
  const app = await createApp(gw, { roles: ['chat', 'news'] });
  const [ws, feed] = [await connect(key(app)), await follow(key(app))];
  const narrowed = { name: 'test app', roles: ['chat', 'news'], allowed_ips: ['192.0.2.0/24'] };
  assert.equal((await admin(gw, 'PUT', `/apps/${app.id}`, narrowed)).status, 200);
  assert.equal(await ws.closed, 1008);
  await feed.done;
  assert.equal(feed.res.complete, false, 'cut');
});
