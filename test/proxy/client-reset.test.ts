// A WebSocket client that resets its connection (a TCP RST: a process killed with data unread, a phone that lost its
// network and came back) at each point of a handshake's life: the gateway process goes on serving, and lets go of
// the connection. Node takes its own error listener off a socket it hands over for an upgrade, or for a CONNECT,
// so without the listener's own such a reset was an uncaught error that ended the process; the admin listener's
// sockets too (client-errors.ts handleClientSocketErrors).
import assert from 'node:assert/strict';
import { createServer as createNetServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { eventually } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';

let upstream: Server;
let silent: NetServer;
let gw: GatewayProcess;

before(async () => {
  upstream = createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (m) => ws.send(m));
  });
  // Accepts connections and never answers: a handshake stays pending.
  silent = createNetServer(() => undefined);
  await Promise.all([upstream, silent].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const url = (s: Server | NetServer) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const dir = tempDir('tollgate-ws-reset-');
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 1,
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    events: { dir: join(dir, 'events') },
    services: [
      { name: 'chat', routes: [{ paths: ['/chat'] }], upstream: { targets: [{ url: url(upstream) }] } },
      {
        name: 'keyed',
        routes: [{ paths: ['/keyed'] }],
        auth: { type: 'api_key' },
        upstream: { targets: [{ url: url(upstream) }] },
      },
      { name: 'silent', routes: [{ paths: ['/silent'] }], upstream: { targets: [{ url: url(silent) }] } },
    ],
  });
  gw = await startGatewayProcess(file);
});

after(async () => {
  await gw?.stop();
  upstream?.close();
  silent?.close();
});

const HANDSHAKE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n';

/** A raw handshake to `path`; resolves with the socket once `until` bytes of an answer came, or at once. */
function handshake(path: string, until?: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(gw.proxyUrl).port), '127.0.0.1', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: a\r\n${HANDSHAKE}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
      if (until === undefined) resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(socket)); // refused or cut: the test goes on to find out why
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (until !== undefined && got.includes(until)) resolve(socket);
    });
  });
}

async function stillServing(): Promise<void> {
  const exited = await Promise.race([gw.exited, new Promise((r) => setTimeout(() => r(undefined), 300))]);
  assert.equal(exited, undefined, `the gateway exited: ${gw.stderr().slice(-600)}`);
  assert.equal((await fetch(`${gw.proxyUrl}/chat`)).status, 200, 'it still answers, with the upstream');
}

test('a reset of an open WebSocket connection: the gateway goes on, and the connection is let go', async () => {
  const socket = await handshake('/chat', '\r\n\r\n');
  assert.equal(await metric(gw, 'tollgate_websocket_connections', 'service="chat"'), 1);
  socket.resetAndDestroy();
  await stillServing();
  const chat = 'service="chat"';
  const closed = await eventually(async () => (await metric(gw, 'tollgate_websocket_connections', chat)) === 0, 5000);
  assert.equal(closed, true, 'no connection left open');
  assert.equal(await metric(gw, 'tollgate_websocket_closed_total', 'service="chat",reason="client"'), 1);
});

test('a reset while a refusal is written, or while the upstream has not answered: the gateway goes on', async () => {
  (await handshake('/keyed')).resetAndDestroy();
  (await handshake('/keyed', 'HTTP/1.1 401')).resetAndDestroy();
  const pending = await handshake('/silent');
  await new Promise((r) => setTimeout(r, 200)); // the gateway is waiting on the silent upstream
  pending.resetAndDestroy();
  await stillServing();
});

/** Sends `request` to `port` twenty times, each reset 0–2 ms later: the race with the answer's write is lost only
 * sometimes. */
async function resets(port: number, request: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(request);
      setTimeout(() => socket.resetAndDestroy(), i % 3);
    });
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('close', r));
  }
}

const CONNECT = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n';
const UPGRADE = `GET /ws HTTP/1.1\r\nHost: a\r\n${HANDSHAKE}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

test('a CONNECT reset while its refusal is written: the gateway goes on', async () => {
  await resets(Number(new URL(gw.proxyUrl).port), CONNECT);
  await stillServing();
});

test('the admin listener: an upgrade or a CONNECT reset while it is answered, and the gateway goes on', async () => {
  const port = Number(new URL(gw.adminUrl).port);
  await resets(port, UPGRADE);
  await resets(port, CONNECT);
  await stillServing();
  assert.equal((await fetch(`${gw.adminUrl}/readyz`)).status, 200);
});
