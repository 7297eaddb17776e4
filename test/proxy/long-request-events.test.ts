// Requests that stay open past events.interim_ms (server-sent events, a gRPC stream, a slow upload) get interim
// events as WebSocket and TCP connections do: their traffic counted when it flows, the request counted once.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { eventually, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { assertTailAtEnd, eventsWhere, readEvents } from '../helpers/events.ts';
import { echoClient } from '../helpers/grpc-client.ts';

const CHUNKS = 10; // 250 ms apart: ~2.5 s, two sweeps at least
const CHUNK = 'x'.repeat(100);

let upstream: Server;
let grpcServer: EchoServer;
let gw: TestGateway;

before(async () => {
  // /feed: CHUNKS chunks 250 ms apart; /upload: reads the body, then answers with its size.
  upstream = createServer(async (req, res) => {
    if (req.url === '/feed') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < CHUNKS; i++) {
        res.write(CHUNK);
        await sleep(250);
      }
      res.end();
      return;
    }
    let size = 0;
    for await (const chunk of req) size += (chunk as Buffer).length;
    res.end(String(size));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  grpcServer = await startEchoServer();
  const http = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startGateway({
    events: { interim_ms: 200 },
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      { name: 'feed', routes: [{ paths: ['/feed'] }], upstream: { targets: [{ url: http }] } },
      { name: 'upload', routes: [{ paths: ['/upload'] }], upstream: { targets: [{ url: http }] } },
      {
        name: 'echo',
        routes: [{ paths: ['/helloworld.Echo/'], grpc: true }],
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${grpcServer.port}` }] },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  await grpcServer?.close();
  upstream?.close();
});

const sum = (events: AccessEvent[], field: 'bytesIn' | 'bytesOut' | 'messagesIn' | 'messagesOut') =>
  events.reduce((n, e) => n + e[field], 0);

/** The service's events once its request's final one is in: that one, the interim ones, all of them. */
async function eventsOf(service: string) {
  const finals = await eventsWhere(gw, (e) => e.service === service && !e.interim);
  const all = (await readEvents(gw)).filter((e) => e.service === service);
  return { finals, interim: all.filter((e) => e.interim), all };
}

test('a response streamed past events.interim_ms: interim events carry its bytes as they flow', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    request(`${gw.url}/feed`, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(body.length, CHUNKS * CHUNK.length);
  const { finals, interim, all } = await eventsOf('feed');
  assert.equal(finals.length, 1, 'one request');
  const [final] = finals;
  assert.ok(interim.length >= 2, `${interim.length} interim events in ~2.5 s at 200 ms`);
  for (const e of interim) {
    assert.deepEqual([e.protocol, e.status, e.method], ['http/1.1', 200, 'GET']);
    assert.ok(e.startMs > final.startMs, 'placed when it was sent, not at the request start');
  }
  assert.equal(sum(all, 'bytesOut'), CHUNKS * CHUNK.length, 'every byte once, across the events');
  assertTailAtEnd(final, interim);

  const day = new Date(Math.floor(final.startMs / 86_400_000) * 86_400_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const row = await eventually(async () => {
    const res = await fetch(`${gw.adminUrl}/reports/traffic?service=feed&granularity=day&from=${day}&to=${to}`);
    const r = ((await res.json()) as { rows: { requests: number; bytes_out: number }[] }).rows[0];
    return r && r.bytes_out === CHUNKS * CHUNK.length && r.requests > 0 ? r : undefined;
  });
  assert.equal(row?.requests, 1, 'one request in the report');
});

test('a gRPC server stream past events.interim_ms: interim events carry its messages', async () => {
  const client = echoClient(gw.port('internal'));
  try {
    const { replies, error } = await client.serverStream({ message: 'm', repeat: CHUNKS, delay_ms: 250 });
    assert.equal(error, undefined);
    assert.equal(replies.length, CHUNKS);
  } finally {
    client.close();
  }
  const { finals, interim, all } = await eventsOf('echo');
  assert.equal(finals.length, 1, 'one call');
  assert.equal(finals[0].grpcStatus, 0);
  assert.ok(interim.length >= 2, `${interim.length} interim events`);
  for (const e of interim) {
    assert.deepEqual([e.protocol, e.grpcMethod, e.grpcStatus], ['grpc', '/helloworld.Echo/ServerStream', -1]);
  }
  assert.ok(
    interim.some((e) => e.messagesOut > 0),
    'messages counted as they went',
  );
  assert.deepEqual([sum(all, 'messagesIn'), sum(all, 'messagesOut')], [1, CHUNKS], 'every message once');
  assert.ok(sum(interim, 'bytesOut') > 0);
});

test('an upload slower than events.interim_ms: interim events count its body as it arrives', async () => {
  const size = CHUNKS * CHUNK.length;
  const answer = await new Promise<string>((resolve, reject) => {
    const req = request(`${gw.url}/upload`, { method: 'POST', headers: { 'content-length': size } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    (async () => {
      for (let i = 0; i < CHUNKS; i++) {
        req.write(CHUNK);
        await sleep(250);
      }
      req.end();
    })();
  });
  assert.equal(answer, String(size));
  const { finals, interim, all } = await eventsOf('upload');
  assert.equal(finals.length, 1);
  assert.ok(interim.filter((e) => e.bytesIn > 0).length >= 2, 'the body counted in parts, as it came');
  assert.ok(
    interim.every((e) => e.bytesIn < size),
    'not the declared length at once',
  );
  assert.equal(sum(all, 'bytesIn'), size, 'every byte once');
});

test('a request shorter than events.interim_ms gets no interim event', async () => {
  const res = await fetch(`${gw.url}/upload`, { method: 'POST', body: 'short' });
  assert.equal(await res.text(), '5');
  await sleep(1500); // past interim_ms and a sweep
  const events = (await readEvents(gw)).filter((e) => e.service === 'upload');
  const short = events.filter((e) => !e.interim && e.bytesIn === 5);
  assert.equal(short.length, 1);
  assert.ok(
    events.filter((e) => e.interim).every((e) => e.startMs < short[0].startMs),
    'none after it',
  );
});
