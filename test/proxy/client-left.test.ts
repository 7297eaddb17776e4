import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { readEvents } from '../helpers/events.ts';
import { eventually, service, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import type { AccessEvent } from '../../shared/access-event.ts';

let gw: TestGateway;
/** Reads the whole body before it answers (a second later for /reader/slow). */
let reader: TestUpstream;
/** Sends its status line and a first chunk at once, the rest when the body is in. */
let early: TestUpstream;
/** Resets the connection once the first body bytes are in. */
let dies: TestUpstream;
/** Never answers; counts the requests the gateway gave up on. */
let never: TestUpstream;
let neverLeft = 0;

before(async () => {
  reader = await startUpstream('reader', (req, res) => {
    req.resume();
    req.on('end', () => (req.url === '/reader/slow' ? setTimeout(() => res.end('ok'), 1000) : res.end('ok')));
  });
  early = await startUpstream('early', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  dies = await startUpstream('dies', (req) => {
    req.once('data', () => req.socket.destroy());
  });
  never = await startUpstream('never', (req, res) => {
    req.resume();
    res.on('close', () => neverLeft++);
  });
  gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        ...service('dies', [dies.url], [{ paths: ['/dies'] }]),
        upstream: { targets: [{ url: dies.url }], retries: 0, health: { passive: { max_failures: 0 } } },
      },
      service('reader', [reader.url], [{ paths: ['/reader'] }]),
      service('early', [early.url], [{ paths: ['/early'] }]),
      service('never', [never.url], [{ paths: ['/never'] }]),
      // The guard reads a JSON body whole before the proxy sends it.
      { ...service('guarded', [reader.url], [{ paths: ['/guarded'] }]), guard: { inspect: { json_body: true } } },
    ],
  });
});

after(async () => {
  await gw?.close();
  await reader?.close();
  await early?.close();
  await dies?.close();
  await never?.close();
});

/** The 50 bytes of the declared 100 a leaving client sends. */
const HALF_BODY = `{"a":"${'x'.repeat(44)}`;
const HALF_BODY_BYTES = Buffer.byteLength(HALF_BODY);

/**
 * Sends a head declaring 100 body bytes and 50 of them, waits until `ready`
 * says the gateway is at work on it (or has answered), then leaves: with a
 * FIN (`destroy`) or a reset. Returns what the gateway wrote before that.
 */
async function leaveHalfway(
  path: string,
  how: 'fin' | 'reset',
  ready: (received: string) => boolean | Promise<boolean>,
): Promise<string> {
  const socket: Socket = connect(gw.proxy.port, '127.0.0.1');
  let received = '';
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1');
  });
  socket.on('error', () => undefined);
  const closed = new Promise((r) => socket.once('close', r));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n${HALF_BODY}`,
  );
  assert.ok(await eventually(() => ready(received), 3000), `the gateway never got to work on ${path}`);
  if (how === 'fin') socket.destroy();
  else socket.resetAndDestroy();
  await closed;
  return received;
}

const aborted = (svc: string, statusClass: string) =>
  metric(
    gw,
    'tollgate_responses_aborted_total',
    `service="${svc}",status_class="${statusClass}",reason="client_closed"`,
  );
const requests = (svc: string, statusClass: string) =>
  metric(gw, 'tollgate_requests_total', `service="${svc}",route="${svc}-0",status_class="${statusClass}"`);
const unrouted = () => metric(gw, 'tollgate_requests_total', 'service="",route="",status_class="4xx"');

/** The access events added since `before` once `n` are in (waits for them). */
async function newEvents(before: number, n: number): Promise<AccessEvent[]> {
  await eventually(async () => (await readEvents(gw)).length >= before + n, 3000);
  await sleep(100); // and no more than n
  return (await readEvents(gw)).slice(before);
}

for (const how of ['fin', 'reset'] as const) {
  // Regression: a client that closed (FIN) halfway through its body was counted twice (its 499 and an unrouted 400
  // GW_ERR_BAD_REQUEST for the truncated message, with an access event of its own), and never as an aborted response.
  test(
    `a client that leaves halfway through its body (${how}) while ` +
      `the proxy streams it is one 499 client_closed, counted as aborted`,
    async () => {
      const [abortedBefore, requestsBefore, unroutedBefore, badBefore, eventsBefore] = [
        await aborted('reader', '4xx'),
        await requests('reader', '4xx'),
        await unrouted(),
        await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_BAD_REQUEST"'),
        (await readEvents(gw)).length,
      ];
      const seen = reader.seen.length;
      await leaveHalfway('/reader', how, () => reader.seen.length > seen);
      assert.ok(
        await eventually(async () => (await aborted('reader', '4xx')) === abortedBefore + 1, 2000),
        `responses_aborted_total{reason="client_closed"} went from ${abortedBefore} ` +
          `to ${await aborted('reader', '4xx')}`,
      );
      assert.equal(await requests('reader', '4xx'), requestsBefore + 1);
      const events = await newEvents(eventsBefore, 1);
      assert.deepEqual(
        events.map((e) => [e.service, e.status, e.errorClass]),
        [['reader', 499, 'client_closed']],
      );
      // Regression: bytesIn was the declared Content-Length (100), not what arrived.
      assert.equal(events[0].bytesIn, HALF_BODY_BYTES, 'bytes in: what arrived');
      assert.equal(await unrouted(), unroutedBefore, 'no second, unrouted request for the truncated message');
      assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_BAD_REQUEST"'), badBefore);
    },
  );
}

test(
  'a client that leaves halfway through a body the guard ' + 'is reading is one 499 client_closed, counted as aborted',
  async () => {
    const [abortedBefore, unroutedBefore, eventsBefore] = [
      await aborted('guarded', '4xx'),
      await unrouted(),
      (await readEvents(gw)).length,
    ];
    const seen = reader.seen.length;
    // Nothing to wait for outside the gateway: give the guard time to start reading.
    await leaveHalfway('/guarded', 'fin', async () => {
      await sleep(100);
      return true;
    });
    assert.ok(await eventually(async () => (await aborted('guarded', '4xx')) === abortedBefore + 1, 2000));
    const events = await newEvents(eventsBefore, 1);
    assert.deepEqual(
      events.map((e) => [e.service, e.status, e.errorClass]),
      [['guarded', 499, 'client_closed']],
    );
    assert.equal(events[0].bytesIn, HALF_BODY_BYTES, 'bytes in: what arrived (it was 0 while the guard read)');
    assert.equal(await unrouted(), unroutedBefore);
    assert.equal(reader.seen.length, seen, 'the half body never went upstream');
  },
);

// Regression: the upstream's early 200 was recorded as a clean 200 although the client left mid-request. It is
// billable all the same (client_closed_late): the service was answering.
test(
  "a client that leaves halfway through its body after the upstream's " +
    'status line went out keeps that 200, counted as aborted with client_closed_late',
  async () => {
    const [abortedBefore, okBefore, eventsBefore] = [
      await aborted('early', '2xx'),
      await requests('early', '2xx'),
      (await readEvents(gw)).length,
    ];
    const got = await leaveHalfway('/early', 'fin', (received) => received.includes('partial'));
    assert.match(got, /^HTTP\/1\.1 200 /);
    assert.ok(await eventually(async () => (await aborted('early', '2xx')) === abortedBefore + 1, 2000));
    assert.equal(await requests('early', '2xx'), okBefore + 1, 'requests_total keeps the status the client saw');
    const events = await newEvents(eventsBefore, 1);
    assert.deepEqual(
      events.map((e) => [e.service, e.status, e.upstreamStatus, e.errorClass]),
      [['early', 200, 200, 'client_closed_late']],
    );
    assert.equal(events[0].bytesIn, HALF_BODY_BYTES);
  },
);

test(
  'a client that sent its whole request and leaves before the answer is a 499 ' +
    'client_closed_late (billable: the upstream had it), not an aborted response',
  async () => {
    const [before, eventsBefore] = [await aborted('reader', '4xx'), (await readEvents(gw)).length];
    const socket = connect(gw.proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const seen = reader.seen.length;
    socket.write('GET /reader/slow HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.ok(await eventually(() => reader.seen.length > seen, 2000));
    socket.destroy();
    const events = await newEvents(eventsBefore, 1);
    assert.deepEqual(
      events.map((e) => [e.service, e.status, e.errorClass]),
      [['reader', 499, 'client_closed_late']],
    );
    assert.equal(await aborted('reader', '4xx'), before);
  },
);

// As nginx by default (proxy_ignore_client_abort off): a half-close is taken as the client leaving
// (docs/operations.md).
test(
  'a client that half-closes after its whole request is a 499 ' +
    'client_closed_late: the upstream request is aborted and nothing is sent',
  async () => {
    const eventsBefore = (await readEvents(gw)).length;
    const socket = connect({ port: gw.proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    const ended = new Promise((r) => socket.once('end', r));
    const seen = reader.seen.length;
    socket.write('GET /reader/slow HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.ok(await eventually(() => reader.seen.length > seen, 2000));
    socket.end();
    await ended;
    assert.equal(received, '', 'the gateway closes its side without an answer');
    const events = await newEvents(eventsBefore, 1);
    assert.deepEqual(
      events.map((e) => [e.service, e.status, e.errorClass]),
      [['reader', 499, 'client_closed_late']],
    );
    socket.destroy();
  },
);

// Regression: an upload the upstream cut short (502) kept the declared Content-Length as its bytes in.
test('an upstream that resets mid-upload is a 502 whose bytes in are the body bytes that arrived', async () => {
  const eventsBefore = (await readEvents(gw)).length;
  const got = await leaveHalfway('/dies', 'fin', (received) => received.startsWith('HTTP/1.1 502'));
  assert.match(got, /^HTTP\/1\.1 502 /);
  const events = await newEvents(eventsBefore, 1);
  assert.deepEqual(
    events.map((e) => [e.service, e.status, e.bytesIn]),
    [['dies', 502, HALF_BODY_BYTES]],
  );
});

// Regression: Node's HTTP/2 request is `complete` once its stream closed, however it closed, so a client that reset its
// stream halfway through its body was a whole request: error class `none` after an early 200, and both cases had the
// declared Content-Length as their bytes in.
for (const [path, status, errorClass] of [
  ['/early', 200, 'client_closed_late'],
  ['/reader', 499, 'client_closed'],
] as const) {
  const name = `an HTTP/2 client that resets its stream halfway through its body (${path})`;
  test(`${name} is a ${status}: ${errorClass}`, async () => {
    const [svc, statusClass] = [path.slice(1), `${Math.floor(status / 100)}xx`];
    const [abortedBefore, eventsBefore] = [await aborted(svc, statusClass), (await readEvents(gw)).length];
    const seen = (path === '/early' ? early : reader).seen.length;
    const session = h2connect(`http://127.0.0.1:${gw.port('h2c')}`);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-length': '100' });
    req.on('error', () => undefined);
    let received = '';
    req.on('data', (c: Buffer) => (received += c.toString()));
    req.write(HALF_BODY);
    const working = () => (path === '/early' ? received.includes('partial') : reader.seen.length > seen);
    assert.ok(await eventually(working, 3000), `the gateway never got to work on ${path}`);
    req.close(8); // RST_STREAM CANCEL, no END_STREAM
    const events = await newEvents(eventsBefore, 1);
    session.close();
    assert.deepEqual(
      events.map((e) => [e.service, e.status, e.errorClass, e.bytesIn]),
      [[svc, status, errorClass, HALF_BODY_BYTES]],
    );
    assert.equal(await aborted(svc, statusClass), abortedBefore + 1, 'counted as an aborted response');
  });
}

// Regression: Node's HTTP/2 response to a HEAD request does not close with its stream until it is ended, so a client
// that reset one before its answer was not seen to leave: the upstream call went on until its header_ms (30 s), the
// request in flight all that time, then recorded as a 504.
test('an HTTP/2 client that resets a HEAD request before its answer has left: the upstream call ends', async () => {
  const [eventsBefore, seen, left] = [(await readEvents(gw)).length, never.seen.length, neverLeft];
  const session = h2connect(`http://127.0.0.1:${gw.port('h2c')}`);
  const req = session.request({ ':method': 'HEAD', ':path': '/never' }, { endStream: true });
  req.on('error', () => undefined);
  assert.ok(await eventually(() => never.seen.length > seen, 3000), 'the upstream never got the request');
  req.close(8); // RST_STREAM CANCEL
  const events = await newEvents(eventsBefore, 1);
  session.close();
  assert.deepEqual(
    events.map((e) => [e.service, e.method, e.status, e.errorClass]),
    [['never', 'HEAD', 499, 'client_closed_late']], // the upstream had it
  );
  assert.ok(await eventually(() => neverLeft > left, 3000), 'the upstream call was given up');
  assert.equal(await metric(gw, 'tollgate_inflight_requests'), 0);
});
