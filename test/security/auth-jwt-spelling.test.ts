// A JWT is taken only as RFC 7515's compact serialization: three base64url parts, nothing else. jose decodes a part
// leniently (whitespace inside it is skipped), so a valid token with a space or a CR LF in it verified as the token
// without them. From a WebSocket's query parameter (percent-decoded) such a token went upstream in a header Node
// will not send: the handshake got a 500, and its connection slot was never given back, so a few of them shut every
// client out of the service's WebSockets (max_connections).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createApp, getToken } from '../helpers/admin.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';

let upstream: Server;
let gw: TestGateway;
let token: string;

before(async () => {
  upstream = createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const target = { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` };
  gw = await startGateway({
    services: [
      {
        name: 'chat',
        routes: [{ paths: ['/ws'] }],
        auth: { type: 'jwt', websocket: { query_param: 'access_token' } },
        websocket: { max_connections: 2 },
        upstream: { targets: [target] },
      },
      { name: 'api', routes: [{ paths: ['/api'] }], auth: { type: 'jwt' }, upstream: { targets: [target] } },
    ],
  });
  const { id, secret } = await createApp(gw);
  token = await getToken(gw.url, id, secret);
});
after(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

/** A WebSocket handshake written by hand; its status line, the connection then cut by the client. */
function handshake(query: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    let head = '';
    socket.on('data', (c) => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(head.split('\r\n')[0] ?? ''));
    socket.write(
      `GET /ws?access_token=${query} HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
}

test('a token with whitespace or a CR LF in it is refused as malformed, and no WebSocket slot is lost', async () => {
  assert.equal(await handshake(token), 'HTTP/1.1 101 Switching Protocols');
  const refusedBefore = await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_TOKEN_INVALID"');
  const spellings = ['%0D%0A', '%0A', '%20', '%09'].map((s) => token + s);
  spellings.push(`${token.slice(0, -10)}%20${token.slice(-10)}`);
  for (const spelt of spellings) {
    for (let i = 0; i < 3; i++) assert.equal(await handshake(spelt), 'HTTP/1.1 401 Unauthorized', spelt);
  }
  assert.equal(
    await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_TOKEN_INVALID"'),
    refusedBefore + spellings.length * 3,
  );
  // Both slots (max_connections: 2) are still there.
  assert.equal(await handshake(token), 'HTTP/1.1 101 Switching Protocols');
  assert.equal(await handshake(token), 'HTTP/1.1 101 Switching Protocols');
  assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_INTERNAL"'), 0);
});

test('in an Authorization header too, a token is its compact form exactly', async () => {
  const call = async (authorization: string) => (await fetch(`${gw.url}/api`, { headers: { authorization } })).status;
  assert.equal(await call(`Bearer ${token}`), 200);
  // In the signature: what the signature was computed over (the first two parts) is unchanged.
  assert.equal(await call(`Bearer ${token.slice(0, -10)} ${token.slice(-10)}`), 401);
  assert.equal(await call(`Bearer ${token.slice(0, -10)}\t${token.slice(-10)}`), 401);
  assert.equal(await call(`Bearer ${token}.`), 401);
});
