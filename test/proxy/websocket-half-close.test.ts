// A WebSocket client that ends its side of the connection (TCP FIN, no close frame) has gone: the gateway passes the
// end on, gives the upstream CLOSE_GRACE_MS to answer, then closes both. An upstream that never ended its own side
// used to hold both connections open until the idle timeout (5 minutes by default).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { CLOSE_GRACE_MS } from '../../gateway/proxy/net/close-grace.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { accept, handshake } from '../helpers/raw-websocket.ts';

let upstream: Server;
let gw: TestGateway;
/** The upstream's side of each tunnel: whether the gateway's end reached it, and whether it closed. */
const seen: { ended: boolean; closed: boolean; socket: Socket }[] = [];

before(async () => {
  upstream = createServer((_req, res) => res.writeHead(426).end());
  // Accepts the handshake, echoes, and never ends its side: an end from the gateway is only noted.
  upstream.on('upgrade', (req, socket: Socket) => {
    accept(req, socket);
    const state = { ended: false, closed: false, socket };
    seen.push(state);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => (state.ended = true));
    socket.on('close', () => (state.closed = true));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startGateway({
    services: [{ name: 'chat', routes: [{ paths: ['/ws'] }], upstream: { targets: [{ url }] } }],
  });
});

after(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

test('a client that ends its side without a close frame is gone: both connections close after the grace', async () => {
  const before = await metric(gw, 'tollgate_websocket_closed_total', 'service="chat",reason="client"');
  const socket = connect({ port: gw.proxy.port, host: '127.0.0.1', allowHalfOpen: true });
  let head = '';
  await new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) resolve();
    });
    socket.write(handshake('/ws'));
  });
  assert.match(head, /^HTTP\/1\.1 101 /);
  const clientClosed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
  const endedAt = performance.now();
  socket.end();
  const state = seen.at(-1)!;
  await eventually(() => state.ended, 2000);
  assert.equal(state.ended, true, 'the end reached the upstream');
  assert.equal(state.closed, false, 'the upstream still has its grace');
  const closedAt = await clientClosed;
  assert.ok(closedAt - endedAt < CLOSE_GRACE_MS + 2000, `closed ${closedAt - endedAt} ms after the client's end`);
  // The gateway has closed its socket to the upstream too: what the upstream writes now meets a reset.
  state.socket.on('error', () => {});
  await eventually(() => {
    if (!state.closed) state.socket.write('\x81\x00');
    return state.closed;
  }, 2000);
  assert.equal(state.closed, true, 'the upstream connection is closed too');
  assert.equal(await metric(gw, 'tollgate_websocket_connections', 'service="chat"'), 0);
  assert.equal(await metric(gw, 'tollgate_websocket_closed_total', 'service="chat",reason="client"'), before + 1);
});
