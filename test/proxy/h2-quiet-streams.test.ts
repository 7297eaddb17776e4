// A client's HTTP/2 connection that goes quiet for proxy.keep_alive_ms: closed (GOAWAY) only when no stream is open;
// with one open (a gRPC stream between messages) it is sent a PING instead, and a client that does not answer (its
// connection silently gone) has its connection closed and its upstream requests cancelled.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, sleep, startGateway, type TestGateway, service } from '../helpers/gateway.ts';
import { closeServer, listenLocal } from '../helpers/upstream.ts';
import { END_HEADERS, END_STREAM, FRAME, frame, getHeaderBlock, rawH2 } from '../helpers/h2-frames.ts';

let upstream: Server;
let gw: TestGateway;
/** Requests the upstream saw, and whether each ended before its response (the gateway cancelled it). */
const seen: { path: string; cancelled?: boolean }[] = [];

before(async () => {
  upstream = createServer((req: IncomingMessage, res) => {
    const entry: { path: string; cancelled?: boolean } = { path: req.url ?? '' };
    seen.push(entry);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('a');
    // /slow ends after a second of quiet; /hang never does.
    const timer = req.url === '/slow' ? setTimeout(() => res.end('b'), 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      entry.cancelled = !res.writableEnded;
    });
  });
  const url = await listenLocal(upstream);
  gw = await startGateway({
    proxy: { keep_alive_ms: 300 },
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'], http2: { ping_timeout_ms: 300 } }],
    services: [service('api', [url])],
  });
});
after(async () => {
  await gw?.close();
  await closeServer(upstream);
});

test('a stream quiet for longer than keep_alive_ms keeps its connection; an idle one still gets GOAWAY', async () => {
  const session = h2connect(`http://127.0.0.1:${gw.port('h2c')}`);
  const events: string[] = [];
  session.on('goaway', () => events.push('goaway'));
  session.on('ping', () => events.push('ping'));
  const body = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':path': '/slow' });
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
  assert.equal(body, 'ab');
  assert.ok(!events.includes('goaway'), `no GOAWAY while the stream was open: ${events}`);
  assert.ok(events.includes('ping'), 'the quiet connection was asked for a PING, and answered it');
  await sleep(1000);
  assert.ok(events.includes('goaway'), 'idle after its stream: closed as before');
  session.destroy();
});

test('a client that stops answering with a stream open is given up, its upstream request cancelled', async () => {
  // A relay in front of the listener that stops forwarding while keeping both sockets open: a client gone silently.
  const sockets: Socket[] = [];
  const relay = createTcpServer((client) => {
    const toGateway = connect(gw.port('h2c'), '127.0.0.1');
    sockets.push(client, toGateway);
    client.pipe(toGateway).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const session = h2connect(`http://127.0.0.1:${(relay.address() as AddressInfo).port}`);
  session.on('error', () => undefined);
  const req = session.request({ ':path': '/hang' });
  req.on('error', () => undefined);
  await new Promise((resolve) => req.once('data', resolve));
  for (const s of sockets) {
    s.unpipe();
    s.pause();
  }
  const stoppedAt = performance.now();
  const entry = seen.find((e) => e.path === '/hang')!;
  while (entry.cancelled === undefined && performance.now() - stoppedAt < 5000) await sleep(50);
  const tookMs = performance.now() - stoppedAt;
  assert.equal(entry.cancelled, true, 'the upstream request was cancelled');
  assert.ok(tookMs < 3000, `${Math.round(tookMs)} ms (keep_alive_ms 300, then a PING unanswered for 300)`);
  session.destroy();
  for (const s of sockets) s.destroy();
  relay.close();
});

test('a client that sent GOAWAY and answers PINGs keeps its quiet stream to the end', async () => {
  const session = h2connect(`http://127.0.0.1:${gw.port('h2c')}`);
  const req = session.request({ ':path': '/slow' });
  await new Promise((resolve) => req.once('response', resolve));
  session.close(); // GOAWAY; /slow is then quiet for a second, longer than keep_alive_ms + ping_timeout_ms
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (text += c));
  await new Promise((resolve, reject) => req.on('end', resolve).on('error', reject));
  assert.equal(text, 'ab');
});

test('a client that sent GOAWAY, then stopped answering with a stream open, is given up all the same', async () => {
  // GOAWAY from a client closes its session (Node: session.closed) while its streams go on; it is still a client
  // that may vanish, so its quiet connection is sent a PING like any other.
  const raw = await rawH2(gw.port('h2c'));
  await raw.send(frame(FRAME.HEADERS, END_STREAM | END_HEADERS, 1, getHeaderBlock('/hang-after-goaway')));
  await eventually(() => seen.some((e) => e.path === '/hang-after-goaway'));
  const noError = Buffer.alloc(8); // last stream 0, NO_ERROR
  await raw.send(frame(FRAME.GOAWAY, 0, 0, noError));
  const stoppedAt = performance.now();
  const giveUp = setTimeout(() => raw.socket.destroy(), 10_000);
  await raw.closed;
  clearTimeout(giveUp);
  const tookMs = performance.now() - stoppedAt;
  assert.ok(tookMs < 3000, `closed after ${Math.round(tookMs)} ms (keep_alive_ms 300, a PING unanswered for 300)`);
  const entry = seen.find((e) => e.path === '/hang-after-goaway')!;
  await eventually(() => entry.cancelled !== undefined);
  assert.equal(entry.cancelled, true, 'the upstream request was cancelled');
});

/** A frame's header announcing `length` bytes of payload, which are to follow. */
function announced(type: number, flags: number, stream: number, length: number): Buffer {
  const head = frame(type, flags, stream);
  head.writeUIntBE(length, 0, 3);
  return head;
}
const GET_HEADERS = getHeaderBlock('/');
const { HEADERS, CONTINUATION, PING } = FRAME;

/** A raw client that sends `start`, then `each()` every 100 ms; resolves with how long the gateway kept it. */
async function rawClient(start: Buffer, each?: () => Buffer): Promise<number> {
  const began = performance.now();
  const raw = await rawH2(gw.port('h2c'));
  await raw.send(start);
  const drip = each && setInterval(() => void raw.send(each()), 100);
  const giveUp = setTimeout(() => raw.socket.destroy(), 10_000);
  await raw.closed;
  clearInterval(drip);
  clearTimeout(giveUp);
  return performance.now() - began;
}

test('no stream open is idle however chatty: PINGs, a header block never finished or sent bytewise', async () => {
  const opaque = Buffer.alloc(8);
  const [pings, unfinished, trickled] = await Promise.all([
    rawClient(Buffer.alloc(0), () => frame(PING, 0, 0, opaque)),
    // HEADERS without END_HEADERS: the header block goes on in CONTINUATION frames that never come.
    rawClient(frame(HEADERS, 0, 1, GET_HEADERS)),
    // ...or in one announced at 200 bytes whose payload comes a byte every 100 ms (20 s).
    rawClient(Buffer.concat([frame(HEADERS, 0, 1, GET_HEADERS), announced(CONTINUATION, 4, 1, 200)]), () =>
      Buffer.from([0x40]),
    ),
  ]);
  // keep_alive_ms 300: looked at every 300 ms, closed at the second look without a stream, cut a second after GOAWAY.
  const kept = Object.entries({ pings, unfinished, trickled }).filter(([, ms]) => ms >= 3000);
  assert.deepEqual(kept, [], 'each closed within 3 s');
});
