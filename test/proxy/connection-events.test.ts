// Long-lived connections in the access events: interim events while a WebSocket or TCP connection stays open (its
// traffic counted when it flows, never a second request), and how it ended (close code, reason).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { AccessEvent } from '../../shared/access-event.ts';
import { eventually, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { assertTailAtEnd, eventsWhere, readEvents } from '../helpers/events.ts';
import { readBytes, received, tcpConnect, tcpServer, type TcpServer } from '../helpers/tcp.ts';

let echo: TcpServer;
let upstream: Server;
let gw: TestGateway;

before(async () => {
  echo = await tcpServer();
  upstream = createServer();
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    events: { interim_ms: 200 },
    services: [
      {
        name: 'chat',
        routes: [{ paths: ['/ws'] }],
        upstream: { targets: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] },
      },
    ],
    streams: [
      { name: 'pipe', listen: '127.0.0.1:0', upstream: { targets: [{ url: `tcp://127.0.0.1:${echo.port}` }] } },
    ],
  });
});

after(async () => {
  await gw?.close();
  await echo?.close();
  upstream?.close();
});

/** The UTC day the time is in, as a report's `from`: a day bucket counts only when its start is in the range. */
const dayStart = (ms: number) => new Date(Math.floor(ms / 86_400_000) * 86_400_000).toISOString();

const sum = (events: AccessEvent[], field: 'bytesIn' | 'bytesOut' | 'messagesIn' | 'messagesOut') =>
  events.reduce((n, e) => n + e[field], 0);

test(
  'a TCP connection open past events.interim_ms: interim events carry its bytes as they flow, the last one at its ' +
    'end, and it is one request in the reports',
  async () => {
    const socket = await tcpConnect(gw.port('pipe'));
    for (let i = 0; i < 8; i++) {
      await sleep(100);
      socket.write('x'.repeat(100));
      await readBytes(socket, 100);
    }
    const done = received(socket);
    socket.end();
    await done;
    const [final] = await eventsWhere(gw, (e) => e.service === 'pipe' && !e.interim);
    assert.ok(final);
    const all = (await readEvents(gw)).filter((e) => e.service === 'pipe');
    const interim = all.filter((e) => e.interim);
    assert.ok(interim.length >= 2, `${interim.length} interim events in ~0.9 s at 200 ms`);
    assert.ok(interim.every((e) => e.protocol === 'tcp' && e.bytesIn > 0 && e.startMs > final.startMs));
    assert.deepEqual([sum(all, 'bytesIn'), sum(all, 'bytesOut')], [800, 800], 'every byte once, across the events');
    assert.equal(final.closeReason, 'client');
    assertTailAtEnd(final, interim);

    const from = dayStart(final.startMs);
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const report = await eventually(async () => {
      const res = await fetch(`${gw.adminUrl}/reports/traffic?service=pipe&granularity=day&from=${from}&to=${to}`);
      const body = (await res.json()) as { rows: { requests: number; bytes_in: number; protocols: { tcp: number } }[] };
      const row = body.rows[0];
      // The interim events can carry every byte before the final one is counted: wait for the connection's end too.
      return row && row.bytes_in === 800 && row.requests > 0 ? row : undefined;
    });
    assert.equal(report?.requests, 1, 'one connection, one request');
    assert.equal(report?.protocols.tcp, 1);
  },
);

test("a WebSocket connection's events: interim ones with its messages, the final one with the close code", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${new URL(gw.url).port}/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  for (let i = 0; i < 6; i++) {
    ws.send(`message ${i}`);
    await new Promise((r) => ws.once('message', r));
    await sleep(100);
  }
  ws.close(4000, 'done');
  await new Promise((r) => ws.once('close', r));
  const [final] = await eventsWhere(gw, (e) => e.service === 'chat' && !e.interim);
  assert.ok(final);
  assert.deepEqual([final.status, final.closeCode, final.closeReason], [101, 4000, 'client']);
  const all = (await readEvents(gw)).filter((e) => e.service === 'chat');
  assert.ok(all.filter((e) => e.interim).length >= 2);
  // The closing handshake's frames, at least, came after the last interim event.
  assertTailAtEnd(
    final,
    all.filter((e) => e.interim),
  );
  assert.deepEqual([sum(all, 'messagesIn'), sum(all, 'messagesOut')], [6, 6], 'every message once, across the events');
  assert.ok(all.every((e) => e.protocol === 'websocket'));

  const from = dayStart(final.startMs);
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const report = await eventually(async () => {
    const res = await fetch(`${gw.adminUrl}/reports/traffic?service=chat&granularity=day&from=${from}&to=${to}`);
    const row = ((await res.json()) as { rows: { requests: number; messages_in: number; messages_out: number }[] })
      .rows[0];
    return row && row.messages_out === 6 ? row : undefined;
  });
  assert.deepEqual(
    report && [report.requests, report.messages_in, report.messages_out],
    [1, 6, 6],
    'one connection, its messages each way in the report',
  );
});
