import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { eventsWhere } from '../helpers/events.ts';
import { eventually, sleep } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { rawRequest } from '../helpers/raw-http.ts';

import { assertCutShort, gw, largeBytes, sampleOf, scrape } from '../helpers/limits-gateway.ts';

test('an upstream that never sends headers gets 504 GW_ERR_UPSTREAM_TIMEOUT after header_ms', async () => {
  const res = await send(gw.url, '/head/nohead');
  assert.equal(res.status, 504);
  assert.equal(res.json().code, 'GW_ERR_UPSTREAM_TIMEOUT');
  assert.ok(res.ms >= 180 && res.ms < 2000, `took ${res.ms} ms`);
});

// The gateway runs header_ms and body_idle_ms on its own deadline queues, to the millisecond (undici's timers, used
// before, fired up to a second late).
test('header_ms fires no earlier than set and well within a second', async () => {
  const res = await send(gw.url, '/head/nohead');
  assert.equal(res.status, 504);
  assert.ok(res.ms >= 195 && res.ms < 600, `took ${res.ms} ms`);
});

test(
  'header_ms starts once the request body is sent: an upload ' +
    'slower than header_ms, answered at once after it, is not a timeout',
  async () => {
    const port = Number(new URL(gw.url).port);
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => socket.on('close', r));
    socket.write('POST /head/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n');
    // 500 ms of upload, in five pieces; header_ms is 200.
    for (let i = 0; i < 5; i++) {
      await sleep(100);
      socket.write('xx');
    }
    await ended;
    const text = Buffer.concat(chunks).toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 /, text);
    assert.ok(text.includes('\r\ngot 10\r\n'), text);
  },
);

test('total_ms bounds the whole exchange: 504 before headers', async () => {
  const res = await send(gw.url, '/total/nohead');
  assert.equal(res.status, 504);
  assert.equal(res.json().code, 'GW_ERR_UPSTREAM_TIMEOUT');
  assert.ok(res.ms >= 280 && res.ms < 2000, `took ${res.ms} ms`);
});

test(
  'total_ms also bounds a request waiting for a ' + 'connection: each of two on a one-connection pool gets 504 on time',
  async () => {
    // The second waits in undici's queue behind the first, which never gets headers.
    const [first, second] = await Promise.all([send(gw.url, '/queued/nohead'), send(gw.url, '/queued/nohead')]);
    for (const res of [first, second]) {
      assert.equal(res.status, 504);
      assert.equal(res.json().code, 'GW_ERR_UPSTREAM_TIMEOUT');
      assert.ok(res.ms >= 280 && res.ms < 1000, `took ${res.ms} ms`);
    }
  },
);

test('total_ms bounds the whole exchange: a trickling body is cut off', async () => {
  const started = performance.now();
  await assertCutShort(send(gw.url, '/total/trickle'), Infinity);
  const ms = performance.now() - started;
  assert.ok(ms >= 280 && ms < 2000, `took ${ms} ms`);
});

test('body_idle_ms cuts a response whose body stalls', async () => {
  const started = performance.now();
  await assertCutShort(send(gw.url, '/idle/stall'), 100);
  const ms = performance.now() - started;
  assert.ok(ms >= 180 && ms < 2000, `took ${ms} ms`);
});

// Regression: a response cut off by the body-idle timeout was counted as a plain 2xx.
test(
  'a response cut by body_idle_ms keeps its 200 in requests_total ' +
    'but is counted as aborted, and its access event says upstream_timeout',
  async () => {
    const aborted = 'tollgate_responses_aborted_total{service="idle",status_class="2xx",reason="upstream_timeout"}';
    const ok = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('tollgate_requests_total{service="idle"') && l.includes('status_class="2xx"'))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const first = await scrape();
    const before = sampleOf(first, aborted) ?? 0;
    const okBefore = ok(first);
    const res = await send(gw.url, '/idle/stall').then(
      (r) => r,
      (err: Error) => err,
    );
    assert.ok(res instanceof Error || res.body.length < 100, 'the response was cut');
    const counted = await eventually(async () => sampleOf(await scrape(), aborted) === before + 1, 2000);
    assert.ok(counted, `${aborted} went from ${before} to ${sampleOf(await scrape(), aborted)}`);
    assert.equal(ok(await scrape()), okBefore + 1, 'requests_total keeps the status the client saw');
    const [event] = await eventsWhere(
      gw,
      (e) => e.service === 'idle' && e.status === 200 && e.errorClass === 'upstream_timeout',
    );
    assert.ok(event, 'the access event records the cut');
    assert.equal(event.upstreamStatus, 200);
  },
);

test('body_idle_ms fires no earlier than set and well within a second', async () => {
  const started = performance.now();
  await assertCutShort(send(gw.url, '/idle/stall'), 100);
  const ms = performance.now() - started;
  assert.ok(ms >= 195 && ms < 600, `took ${ms} ms`);
});

test(
  'body_idle_ms is the gap between chunks, not the length of ' +
    'the body: a body trickling for twice body_idle_ms arrives whole',
  async () => {
    const res = await send(gw.url, '/idle/trickle8');
    assert.equal(res.status, 200);
    assert.equal(res.text, '........');
    assert.ok(res.ms >= 350, `took ${res.ms} ms`);
  },
);

test('body_idle_ms does not run while a client that reads nothing holds the upstream paused', async () => {
  const port = Number(new URL(gw.url).port);
  const socket = connect(port, '127.0.0.1');
  let received = 0;
  socket.on('data', (c: Buffer) => {
    received += c.length;
  });
  socket.pause();
  const ended = new Promise((r) => socket.on('close', r));
  socket.write('GET /idle/large HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  // Three times body_idle_ms without reading: the gateway pauses the upstream, which must not count as idle.
  await sleep(600);
  socket.resume();
  await ended;
  assert.ok(received > largeBytes, `received ${received} bytes of ${largeBytes} and a head`);
});

test(
  'a response head over max_response_header_bytes (default 16 ' +
    'KiB) gets 502; a route whose upstream allows more gets it whole',
  async () => {
    const ok = await send(gw.url, '/bighead/15000');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-big']?.length, 15000);
    const over = await send(gw.url, '/bighead/17000');
    assert.equal(over.status, 502);
    assert.equal(over.json().code, 'GW_ERR_BAD_GATEWAY');
    // Node's own client stops at 16 KiB: read the big head raw.
    const port = Number(new URL(gw.url).port);
    const raw = (path: string) => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const wide = await raw('/widehead/60000');
    assert.equal(wide.status, 200);
    assert.ok(wide.text.includes(`\r\nx-big: ${'h'.repeat(60000)}\r\n`));
    assert.equal((await raw('/widehead/70000')).status, 502);
  },
);

test('a response within max_response_bytes passes whole', async () => {
  const res = await send(gw.url, '/big/exact');
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 1000);
});

test('a response declaring a Content-Length over max_response_bytes gets 502 GW_ERR_RESPONSE_TOO_LARGE', async () => {
  const res = await send(gw.url, '/big/declared');
  assert.equal(res.status, 502);
  assert.equal(res.json().code, 'GW_ERR_RESPONSE_TOO_LARGE');
});

test('a chunked response growing past max_response_bytes never looks complete to the client', async () => {
  await assertCutShort(send(gw.url, '/big/chunked'), 5000);
  // The gateway still serves afterwards.
  assert.equal((await send(gw.url, '/big/exact')).status, 200);
});
