// The faults issue 33 lists for WebSocket that websocket.test.ts does not cover: an upstream that accepts the
// handshake's connection and never answers, a flood of handshakes, and a client that never reads. Each gets its
// documented result (docs/websocket.md), is counted, and holds up no other connection.
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metricReaching } from '../helpers/metrics.ts';
import { exchange, openWebSocket } from '../helpers/websocket-client.ts';

const MB = 1 << 20;
/** The most one loopback connection's kernel buffers can take (receive, autotuned, and send); 36 MB here. */
const kernelMax = (['tcp_rmem', 'tcp_wmem'] as const)
  .map((name) => Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]))
  .reduce((a, b) => a + b);
/** MB messages to send a client that does not read: more than the two hops' kernel buffers can take, by 32 MB. */
const FLOOD_MESSAGES = Math.ceil((2 * kernelMax) / MB) + 32;
/** The messages to send, a few distinct ones in turn (each filled with its index), so the order shows. */
const floodMessages = Array.from({ length: 8 }, (_, i) => Buffer.alloc(MB, i));

let upstream: Server;
let silent: NetServer;
/** Connections the silent upstream holds open. */
const silentSockets = new Set<Socket>();
/** The upstream's side of the connection that asked for a flood. */
let flooding: WebSocket | undefined;
let gw: TestGateway;

before(async () => {
  upstream = createHttpServer();
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      if (data.toString() !== 'flood') return ws.send(`echo:${data}`);
      flooding = ws;
      for (let i = 0; i < FLOOD_MESSAGES; i++) ws.send(floodMessages[i % floodMessages.length]);
    });
  });
  // Reads what it is sent (so the gateway's end reaches it) and answers nothing.
  silent = createNetServer((socket) => {
    socket.resume();
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await Promise.all([
    new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r)),
    new Promise<void>((r) => silent.listen(0, '127.0.0.1', r)),
  ]);
  const url = (s: Server | NetServer) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  gw = await startGateway({
    services: [
      { name: 'chat', routes: [{ paths: ['/ws'] }], upstream: { targets: [{ url: url(upstream) }] } },
      {
        name: 'silent',
        routes: [{ paths: ['/silent'] }],
        upstream: { targets: [{ url: url(silent) }], retries: 0, timeouts: { connect_ms: 200, header_ms: 300 } },
      },
      {
        name: 'limited',
        routes: [{ paths: ['/limited'] }],
        upstream: { targets: [{ url: url(upstream) }] },
        rate_limits: [{ name: 'per-client', key: 'client_ip', qps: 5, burst: 5 }],
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  for (const socket of silentSockets) socket.destroy();
  silent?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

const open = (path: string) => openWebSocket(gw.url, path);

const errorsReaching = (code: string, n: number) =>
  metricReaching(gw, 'tollgate_gateway_errors_total', `code="${code}"`, n);

/** `read()` once it has not changed for 300 ms (the flow has stopped), polled every 50 ms for up to 10 s. */
async function settled(read: () => number): Promise<number> {
  let last = read();
  let sameSince = Date.now();
  for (const end = Date.now() + 10_000; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 50));
    const now = read();
    if (now !== last) [last, sameSince] = [now, Date.now()];
    else if (Date.now() - sameSince >= 300) return now;
  }
  throw new Error(`still moving after 10 s: ${last}`);
}

async function closeAll(...sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => {
      if (ws.readyState === WebSocket.CLOSED) return undefined;
      const closed = new Promise((r) => ws.once('close', r));
      ws.close();
      return closed;
    }),
  );
}

test('an upstream that takes the connection and never answers the handshake: 504 after connect + header', async () => {
  const bystander = await open('/ws/bystander');
  const started = Date.now();
  let settledAt = 0;
  const pending = open('/silent/x').finally(() => (settledAt = Date.now()));
  pending.catch(() => undefined);
  await eventually(() => silentSockets.size === 1, 2000);
  assert.equal(await exchange(bystander, 'meanwhile'), 'echo:meanwhile', 'another connection is served while it waits');
  assert.equal(settledAt, 0, 'the bystander was answered before the handshake was given up');
  await assert.rejects(pending, /status 504/);
  const waited = settledAt - started;
  assert.ok(waited >= 450 && waited < 3000, `given up after ${waited} ms (connect_ms + header_ms = 500)`);
  assert.ok(await eventually(() => silentSockets.size === 0, 2000), 'the gateway closed its connection upstream');
  assert.equal(await errorsReaching('GW_ERR_UPSTREAM_TIMEOUT', 1), 1, 'counted');
  const [event] = await eventsWhere(gw, (e) => e.service === 'silent');
  assert.equal(event?.status, 504);
  await closeAll(bystander);
});

test('a flood of handshakes from one client: each is a request, those over the rate limit get 429', async () => {
  const bystander = await open('/ws/bystander');
  const attempts = 40;
  const started = Date.now();
  const results = await Promise.allSettled(Array.from({ length: attempts }, (_, i) => open(`/limited/${i}`)));
  const allowed = 5 + Math.ceil((5 * (Date.now() - started)) / 1000); // the burst, and 5 a second while it lasted
  const admitted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const refused = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
  assert.ok(admitted.length >= 5 && admitted.length <= allowed, `${admitted.length} admitted, ${allowed} allowed`);
  assert.deepEqual(new Set(refused), new Set(['Error: status 429']), 'every other one is refused with 429');
  assert.equal(await errorsReaching('GW_ERR_RATE_LIMITED', refused.length), refused.length, 'and counted');
  assert.equal(await exchange(admitted[0], 'in'), 'echo:in', 'the admitted ones work');
  assert.equal(await exchange(bystander, 'after'), 'echo:after', 'the open connection carried on through it');
  const events = await eventsWhere(gw, (e) => e.service === 'limited' && e.status === 429, refused.length);
  assert.equal(events.length, refused.length, 'each refusal is one access event');
  await closeAll(bystander, ...admitted);
});

test('a client that never reads holds the upstream back, not the gateway; reading, it gets every byte', async () => {
  const bystander = await open('/ws/bystander');
  const reader = await open('/ws/slow');
  const socket = (reader as unknown as { _socket: Socket })._socket;
  socket.pause();
  reader.send('flood');
  // Whatever the kernel's buffers on both hops cannot take must wait in the upstream's own queue, not the gateway's.
  const held = await settled(() => flooding?.bufferedAmount ?? 0);
  assert.ok(held > 16 * MB, `once nothing moves, the upstream still holds ${held} bytes: the gateway stopped reading`);
  assert.equal(await exchange(bystander, 'meanwhile'), 'echo:meanwhile', 'another connection is served meanwhile');
  let received = 0;
  let intact = true;
  const all = new Promise<void>((resolve) =>
    reader.on('message', (data: Buffer) => {
      const index = received % floodMessages.length;
      intact &&= data.length === MB && data[0] === index && data[MB - 1] === index;
      if (++received === FLOOD_MESSAGES) resolve();
    }),
  );
  socket.resume();
  await all;
  assert.ok(intact, 'each message arrived whole and in order');
  await closeAll(reader, bystander);
  const [event] = await eventsWhere(gw, (e) => e.service === 'chat' && !e.interim && e.messagesOut > 1);
  assert.ok((event?.bytesOut ?? 0) >= FLOOD_MESSAGES * MB, `${event?.bytesOut} bytes out in its event`);
  assert.equal(event?.messagesOut, FLOOD_MESSAGES, 'its messages counted');
});
