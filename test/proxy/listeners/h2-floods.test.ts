import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../../helpers/gateway-process.ts';
import {
  END_HEADERS,
  END_STREAM,
  FRAME,
  frame,
  getHeaderBlock,
  headerFrames,
  newNameLiteral,
  type RawH2,
  rawH2,
  rstStream,
} from '../../helpers/h2-frames.ts';
import { metric, refusals } from '../../helpers/metrics.ts';
import { freePort } from '../../helpers/ports.ts';
import { h2Request } from '../../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

// The HTTP/2 floods of CVE-2023-44487 (rapid reset), CVE-2025-8671 (MadeYouReset) and CVE-2024-27316
// (CONTINUATION) against an h2c listener: the flooding connection is closed with GOAWAY, while another client
// keeps being served. nghttp2 (in Node; 1.66 and later count the resets a client provokes) enforces the limits:
// a stream-reset rate, and a cap on CONTINUATION frames and on the header list size.
// It acts between reads, so the streams of the read that crossed a limit are still handled. The gateway is a
// process of its own, so the flooder's work here is not counted as the gateway's in the bystander's latency.

let upstream: TestUpstream;
let gw: GatewayProcess;
let port: number;

before(async () => {
  upstream = await startUpstream('up');
  port = await freePort();
  const dir = tempDir();
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 1,
    // Quiet connections (no stream open, whatever they send) are closed within twice this.
    proxy: { listen: '127.0.0.1:0', keep_alive_ms: 1000 },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    listeners: [{ name: 'internal', listen: `127.0.0.1:${port}`, protocols: ['h2c', 'http/1.1'] }],
    services: [{ name: 'api', routes: [{ paths: ['/api'] }], upstream: { targets: [{ url: upstream.url }] } }],
  });
  gw = await startGatewayProcess(file);
});
after(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** Sends what `next` makes, batch after batch, until the gateway closes the connection or `ms` pass. */
async function flood(
  raw: RawH2,
  next: () => Buffer,
  ms: number,
): Promise<{ frames: number; closedByGateway: boolean }> {
  const started = Date.now();
  let frames = 0;
  while (Date.now() - started < ms) {
    const batch: Buffer[] = [];
    for (let i = 0; i < 100; i++) batch.push(next());
    frames += batch.length;
    if (!(await raw.send(Buffer.concat(batch)))) return { frames, closedByGateway: true };
    // A write the kernel took at once resolves without a turn of the event loop: yield one, or the bystander's
    // requests (in this process) would wait for the flood to end.
    await new Promise((r) => setImmediate(r));
  }
  const closedByGateway = await Promise.race([
    raw.closed.then(() => true),
    new Promise<false>((r) => setTimeout(r, 1000, false)),
  ]);
  raw.socket.destroy();
  return { frames, closedByGateway };
}

/** Another client's requests, one after another, while `during` runs (and at least 20): their latencies. */
async function bystander<T>(during: Promise<T>): Promise<{ result: T; ms: number[] }> {
  const ms: number[] = [];
  let done = false;
  const result = during.finally(() => (done = true));
  while (!done || ms.length < 20) {
    const t = performance.now();
    const res = await h2Request(port, '/api/bystander', undefined);
    assert.equal(res.status, 200, 'the other client is served throughout');
    ms.push(performance.now() - t);
  }
  return { result: await result, ms };
}

const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  return `${ms.length} requests, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
};

const refused = () => refusals(gw, 'internal', 'h2_protocol_error');

test('rapid reset (CVE-2023-44487): the resetting connection gets GOAWAY and is closed; others served', async (t) => {
  const before = await refused();
  const seenBefore = upstream.seen.length;
  let upstreamConnections = 0;
  const connected = () => upstreamConnections++;
  upstream.server.on('connection', connected);
  const raw = await rawH2(port);
  const block = getHeaderBlock('/api/flood');
  let stream = -1;
  const next = () => {
    stream += 2;
    // A whole request (HEADERS with END_STREAM) and its cancellation, as the attack sends them.
    return Buffer.concat([frame(FRAME.HEADERS, END_HEADERS | END_STREAM, stream, block), rstStream(stream)]);
  };
  const { result, ms } = await bystander(flood(raw, next, 10_000));
  t.diagnostic(`rapid reset: ${result.frames} HEADERS+RST_STREAM pairs sent; bystander: ${summary(ms)}`);
  assert.ok(result.closedByGateway, 'the gateway closed the flooding connection');
  assert.notEqual(raw.goaway, undefined, 'with a GOAWAY');
  // The streams of the read that crossed nghttp2's reset limit (burst 1000) are still handled; no more reach on.
  upstream.server.off('connection', connected);
  // A stream cancelled in the read that brought it is never begun: nothing of the flood goes upstream, not even a
  // connection (begun at once, each flood stream opened one: ~1,400).
  const reached = upstream.seen.length - seenBefore - ms.length;
  assert.equal(reached, 0, `${reached} flood requests reached the upstream`);
  assert.ok(upstreamConnections < 20, `${upstreamConnections} upstream connections opened during the flood`);
  const unbegun = await metric(gw, 'tollgate_http2_streams_cancelled_unbegun_total', 'listener="internal"');
  assert.ok(unbegun >= 1000, `${unbegun} cancelled streams counted as never begun`);
  assert.equal(await refused(), before + 1, 'counted');
});

test('rapid reset of WebSocket CONNECT streams (RFC 8441): none is begun, no tunnel opened upstream', async () => {
  const before = await metric(gw, 'tollgate_http2_streams_cancelled_unbegun_total', 'listener="internal"');
  let upstreamConnections = 0;
  const connected = () => upstreamConnections++;
  upstream.server.on('connection', connected);
  const raw = await rawH2(port);
  const block = Buffer.concat([
    Buffer.from([0x02, 7]), // :method, a literal value
    Buffer.from('CONNECT', 'latin1'),
    newNameLiteral(':protocol', 'websocket'),
    getHeaderBlock('/api/ws').subarray(1), // :scheme http, :path, :authority
    newNameLiteral('sec-websocket-version', '13'),
  ]);
  let stream = -1;
  const next = () => {
    stream += 2;
    return Buffer.concat([frame(FRAME.HEADERS, END_HEADERS, stream, block), rstStream(stream)]);
  };
  const result = await flood(raw, next, 10_000);
  upstream.server.off('connection', connected);
  assert.ok(result.closedByGateway, 'the gateway closed the flooding connection');
  assert.ok(upstreamConnections < 20, `${upstreamConnections} upstream connections opened during the flood`);
  const unbegun = await metric(gw, 'tollgate_http2_streams_cancelled_unbegun_total', 'listener="internal"');
  assert.ok(unbegun - before >= 1000, `${unbegun - before} cancelled CONNECT streams counted as never begun`);
});

test('MadeYouReset (CVE-2025-8671): streams the client makes the gateway reset count as resets', async (t) => {
  // The client never sends RST_STREAM: it breaks each stream so that the gateway resets it (a stream error, which
  // leaves the connection open), which a reset budget counting only the client's own resets would let through.
  const block = getHeaderBlock('/api/flood');
  const request = (stream: number, extra: Buffer = Buffer.alloc(0)) =>
    frame(FRAME.HEADERS, END_HEADERS | END_STREAM, stream, Buffer.concat([block, extra]));
  const triggers: [string, (stream: number) => Buffer][] = [
    ['a content-length with no body', (s) => request(s, newNameLiteral('content-length', '5'))],
    ['an upper-case header name', (s) => request(s, newNameLiteral('X-Up', '1'))],
  ];
  for (const [trigger, broken] of triggers) {
    const before = await refused();
    const seenBefore = upstream.seen.length;
    const raw = await rawH2(port);
    let stream = -1;
    const next = () => broken((stream += 2));
    // A few are stream errors, not a flood: the connection stays.
    for (let i = 0; i < 20; i++) assert.ok(await raw.send(next()));
    const early = await Promise.race([
      raw.closed.then(() => true),
      new Promise<false>((r) => setTimeout(r, 300, false)),
    ]);
    assert.equal(early, false, `${trigger}: twenty broken streams leave the connection open`);
    const { result, ms } = await bystander(flood(raw, next, 10_000));
    const reached = upstream.seen.length - seenBefore - ms.length;
    t.diagnostic(`${trigger}: ${result.frames} streams, ${reached} reached the upstream; bystander: ${summary(ms)}`);
    assert.ok(result.closedByGateway, `${trigger}: the gateway closed the flooding connection`);
    assert.ok(reached < 2000, `${trigger}: ${reached} flood requests reached the upstream`);
    assert.equal(await refused(), before + 1, `${trigger}: counted`);
  }
});

test('CONTINUATION flood (CVE-2024-27316): an endless header block closes its connection; others served', async (t) => {
  const before = await refused();
  const raw = await rawH2(port);
  await raw.send(frame(FRAME.HEADERS, 0, 1, getHeaderBlock('/api/flood')));
  // One literal header field per frame (x: y), never END_HEADERS.
  const field = Buffer.from([0x40, 1, 0x78, 1, 0x79]);
  const { result, ms } = await bystander(flood(raw, () => frame(FRAME.CONTINUATION, 0, 1, field), 10_000));
  t.diagnostic(`CONTINUATION flood: ${result.frames} frames sent; bystander: ${summary(ms)}`);
  assert.ok(result.closedByGateway, 'the gateway closed the flooding connection');
  // No GOAWAY check: the gateway closes with the flood still unread, and the kernel's reset may drop it.

  assert.equal(await refused(), before + 1, 'counted');
});

test('one header field past 64 KB, more than the header decoder takes, closes its connection, counted', async () => {
  // Over max_header_list_bytes a request gets 431 (h2c.test.ts), but nghttp2's decoder takes no field past 64 KB
  // at all: the connection's header compression state is lost with it, so the connection ends (GOAWAY
  // COMPRESSION_ERROR). Node's own client refuses to send such a field; a raw one can.
  const before = await refused();
  const seen = upstream.seen.length;
  const raw = await rawH2(port);
  await raw.send(
    headerFrames(1, Buffer.concat([getHeaderBlock('/api/huge'), newNameLiteral('x-big', 'a'.repeat(70_000))])),
  );
  await raw.closed;
  assert.equal(raw.goaway, 0x9, 'GOAWAY COMPRESSION_ERROR');
  assert.equal(await refused(), before + 1, 'counted');
  assert.equal(upstream.seen.length, seen, 'nothing reached the upstream');
  assert.equal((await h2Request(port, '/api/after-huge', undefined)).status, 200, 'the listener serves on');
});

test('a client that cancels some of its streams, as browsers do, keeps its connection', async () => {
  const raw = await rawH2(port);
  const block = getHeaderBlock('/api/cancelled');
  const frames: Buffer[] = [];
  for (let stream = 1; stream < 100; stream += 2)
    frames.push(frame(FRAME.HEADERS, END_HEADERS | END_STREAM, stream, block), rstStream(stream));
  assert.ok(await raw.send(Buffer.concat(frames)));
  const closed = await Promise.race([
    raw.closed.then(() => true),
    new Promise<false>((r) => setTimeout(r, 500, false)),
  ]);
  assert.equal(closed, false, 'still open');
  assert.equal(raw.goaway, undefined);
  raw.socket.destroy();
});

test('PING, SETTINGS and empty DATA floods (CVE-2019-9512, -9515, -9518): closed, others served', async (t) => {
  const headers = frame(FRAME.HEADERS, END_HEADERS, 1, getHeaderBlock('/api/flood'));
  const floods: [string, () => Buffer, boolean][] = [
    // A client that sends PINGs and SETTINGS without reading the acknowledgements piles them up in the gateway.
    ['PING', () => frame(FRAME.PING, 0, 0, Buffer.alloc(8)), true],
    ['SETTINGS', () => frame(FRAME.SETTINGS, 0, 0), true],
    // DATA frames of nothing on an open request: each costs a frame's work and carries no byte of body.
    ['empty DATA', () => frame(FRAME.DATA, 0, 1), false],
  ];
  for (const [name, next, unread] of floods) {
    const before = await refused();
    const raw = await rawH2(port);
    if (unread) raw.socket.pause();
    else await raw.send(headers);
    const { result, ms } = await bystander(flood(raw, next, 10_000));
    t.diagnostic(`${name} flood: ${result.frames} frames sent; bystander: ${summary(ms)}`);
    assert.ok(result.closedByGateway, `${name}: the gateway closed the flooding connection`);
    assert.equal(await refused(), before + 1, `${name}: counted`);
  }
});

test('a WINDOW_UPDATE flood holds no one up; opening no stream, its connection is closed as a quiet one', async (t) => {
  // nghttp2 has no limit on WINDOW_UPDATE frames (each is cheap); a connection that sends anything but streams is
  // quiet and is closed within twice proxy.keep_alive_ms (1 s here).
  const raw = await rawH2(port);
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  const { result, ms } = await bystander(flood(raw, () => frame(FRAME.WINDOW_UPDATE, 0, 0, one), 10_000));
  t.diagnostic(`WINDOW_UPDATE flood: ${result.frames} frames sent; bystander: ${summary(ms)}`);
  assert.ok(result.closedByGateway, 'closed before the flood ended (10 s)');
});
