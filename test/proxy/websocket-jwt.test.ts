// A WebSocket handshake authenticated by a JWT (issue 33: "JWT in header, query or Sec-WebSocket-Protocol, cookie"):
// each place is checked as the Authorization header would be, taken out of what goes upstream, and the token goes
// on in Authorization (docs/websocket.md, "Credentials from browsers").
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { createApp, getToken } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { exchange, openWebSocket } from '../helpers/websocket-client.ts';

let upstream: Server;
let gw: TestGateway;
let app: { id: string; secret: string };
let token: string;

before(async () => {
  upstream = createServer();
  // Answers each message with what its handshake brought: Authorization, path and query, offered protocols, cookies.
  new WebSocketServer({ server: upstream }).on('connection', (ws, req) =>
    ws.on('message', () =>
      ws.send(
        JSON.stringify({
          authorization: req.headers.authorization ?? null,
          url: req.url,
          protocols: req.headers['sec-websocket-protocol'] ?? null,
          cookie: req.headers.cookie ?? null,
        }),
      ),
    ),
  );
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    services: [
      {
        name: 'live',
        routes: [{ paths: ['/live'] }],
        auth: {
          type: 'jwt',
          websocket: { query_param: 'access_token', subprotocol_prefix: 'bearer.', cookie: 'sess' },
        },
        upstream: { targets: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] },
      },
    ],
  });
  app = await createApp(gw);
  token = await getToken(gw.url, app.id, app.secret);
});

after(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

const open = (path: string, protocols: string[] = [], headers: Record<string, string> = {}) =>
  openWebSocket(gw.url, path, { protocols, headers });

/** What the upstream saw of this connection's handshake. */
async function seen(ws: WebSocket): Promise<{ authorization: string; url: string; protocols: string; cookie: string }> {
  const what = JSON.parse(await exchange(ws, '?'));
  ws.close();
  return what;
}

test('a token in the Authorization header opens the connection and goes on; its app is in the event', async () => {
  const what = await seen(await open('/live/h', [], { authorization: `Bearer ${token}` }));
  assert.equal(what.authorization, `Bearer ${token}`);
  const [event] = await eventsWhere(gw, (e) => e.service === 'live' && e.status === 101);
  assert.equal(event?.appId, app.id);
});

test('a token in the query, a subprotocol or a cookie is taken out of them and goes on in Authorization', async () => {
  const query = await seen(await open(`/live/q?a=1&access_token=${encodeURIComponent(token)}&b=2`));
  assert.deepEqual([query.url, query.authorization], ['/live/q?a=1&b=2', `Bearer ${token}`]);
  const offered = await open('/live/p', [`bearer.${token}`, 'chat.v1']);
  assert.equal(offered.protocol, 'chat.v1', 'the upstream chose from what was left');
  const protocol = await seen(offered);
  assert.deepEqual([protocol.protocols, protocol.authorization], ['chat.v1', `Bearer ${token}`]);
  const cookie = await seen(await open('/live/c', [], { cookie: `a=b; sess=${token}; c=d` }));
  assert.deepEqual([cookie.cookie, cookie.authorization], ['a=b; c=d', `Bearer ${token}`]);
});

test('no token, or one that is not valid, in any of the places: 401 and nothing reaches the upstream', async () => {
  const forged = `${token.slice(0, -4)}AAAA`;
  await assert.rejects(open('/live/none'), /status 401/);
  await assert.rejects(open('/live/h', [], { authorization: `Bearer ${forged}` }), /status 401/);
  await assert.rejects(open(`/live/q?access_token=${encodeURIComponent(forged)}`), /status 401/);
  await assert.rejects(open('/live/p', [`bearer.${forged}`, 'chat.v1']), /status 401/);
  await assert.rejects(open('/live/c', [], { cookie: `sess=${forged}` }), /status 401/);
  const refused = await eventsWhere(gw, (e) => e.service === 'live' && e.status === 401, 5);
  assert.equal(refused.length, 5, 'each refusal is one access event');
  assert.ok(
    refused.every((e) => e.upstreamStatus === 0),
    'none reached the upstream',
  );
});
