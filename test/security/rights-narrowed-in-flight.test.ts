// An app's rights narrowed while it holds connections open (a role taken away, its allowed addresses changed): what
// the route would now refuse is ended as a disabled app's is, a WebSocket with 1008 and a long response cut, within
// the sweep; what its rights still cover, and other apps' connections, go on. And a handshake those rights (or a
// service's IP list) do not allow is refused with 403 in the first place.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { admin, createApp } from '../helpers/admin.ts';
import { followFeed, openSocket, startFeedAndSocketUpstream } from '../helpers/held-open.ts';
import { eventsWhere } from '../helpers/events.ts';
import { eventually, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';

let upstream: Awaited<ReturnType<typeof startFeedAndSocketUpstream>>;
let gw: TestGateway;

before(async () => {
  upstream = await startFeedAndSocketUpstream();
  const url = upstream.url;
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
      {
        name: 'walled',
        routes: [{ paths: ['/walled'] }],
        acl: { deny: ['127.0.0.0/8'] },
        upstream: { targets: [{ url }] },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  upstream?.close();
});

const connect = (headers: Record<string, string>) => openSocket(`${gw.url.replace('http', 'ws')}/ws`, headers);
const follow = (headers: Record<string, string>) => followFeed(`${gw.url}/feed`, headers);
const key = (app: { id: string; secret: string }) => ({ 'x-api-key': `${app.id}.${app.secret}` });

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

test('a handshake its roles do not grant, or from an address its app or service does not allow: 403', async () => {
  const reader = await createApp(gw, { roles: ['news'] });
  await assert.rejects(connect(key(reader)), /403/, 'no role grants the ws route');
  const elsewhere = await createApp(gw, { roles: ['chat'], allowed_ips: ['192.0.2.0/24'] });
  await assert.rejects(connect(key(elsewhere)), /403/, 'its app allows other addresses only');
  await assert.rejects(openSocket(`${gw.url.replace('http', 'ws')}/walled`, {}), /403/, "the service's acl denies it");
  const refused = await eventsWhere(gw, (e) => e.status === 403, 3);
  assert.deepEqual(
    refused.map((e) => [e.service, e.errorClass, e.upstreamStatus]),
    [
      ['live', 'forbidden', 0],
      ['live', 'forbidden', 0],
      ['walled', 'forbidden', 0],
    ],
    'each refused before any upstream, one event each',
  );
});
