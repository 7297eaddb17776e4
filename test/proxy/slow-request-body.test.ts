/**
 * A request body that arrives slower than the upstream's total_ms: the client is late, not the target. It gets 408,
 * and neither passive health nor the breaker holds it against the target (so slow uploads cannot eject targets or
 * open a circuit for everyone). A target that stops reading a body it was sent is still a slow upstream: 504, counted.
 */
import assert from 'node:assert/strict';
import { connect as h2Connect, createServer as createH2cServer, type Http2Server } from 'node:http2';
import { request } from 'node:http';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let upstream: TestUpstream;
let deaf: Server;
let h2c: Http2Server;
const deafSockets = new Set<Socket>();
let gw: TestGateway;

// One failure ejects a lone target; the breaker opens on one failed outcome out of two.
const strict = {
  retries: 0,
  timeouts: { total_ms: 400 },
  health: { passive: { max_failures: 1, max_ejected_percent: 100, ejection_ms: 60000 } },
  breaker: { enabled: true, min_requests: 2, error_ratio: 0.5, open_ms: 60000 },
};

before(async () => {
  upstream = await startUpstream('up');
  // Accepts and never reads: a target whose process is stuck.
  deaf = createServer((socket) => {
    deafSockets.add(socket);
    socket.pause();
  });
  await new Promise<void>((resolve) => deaf.listen(0, '127.0.0.1', resolve));
  h2c = createH2cServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => h2c.listen(0, '127.0.0.1', resolve));
  const h2cUrl = `http://127.0.0.1:${(h2c.address() as { port: number }).port}`;
  const deafUrl = `http://127.0.0.1:${(deaf.address() as { port: number }).port}`;
  gw = await startGateway({
    proxy: { request_timeout_ms: 20000, max_body_bytes: 0 },
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      service('up', [upstream.url], [{ paths: ['/up'] }], strict),
      service('h2c', [h2cUrl], [{ paths: ['/h2c'] }], { ...strict, protocol: 'h2c' }),
      service('deaf', [deafUrl], [{ paths: ['/deaf'] }], strict),
    ],
  });
});
after(async () => {
  await gw?.close();
  await upstream?.close();
  for (const s of deafSockets) s.destroy();
  deaf?.close();
  h2c?.close();
});

/** The sum of a metric's samples whose labels start with `labels`. */
async function total(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{${labels}`)) sum += Number(line.split(' ').pop());
  return sum;
}

/** Sends a request head that announces 100 bytes of body and 10 of them; resolves with the answer. */
function slowHttp1(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? Number.NaN);
      if (head > 0 && got.length >= head + 4 + length) socket.destroy();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => undefined);
    socket.write('POST /up/h1 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
  });
}

/** An HTTP/2 stream that sends one byte of its body and never ends it; resolves with the status and body. */
function slowHttp2(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':method': 'POST' });
    let status = 0;
    let text = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d) => (text += d));
    stream.on('end', () => {
      session.destroy();
      resolve({ status, text });
    });
    stream.write('x');
  });
}

test('a body slower than total_ms gets 408 on HTTP/1.1 and HTTP/2, and does not count against the target', async () => {
  const started = Date.now();
  const [h1, h2, toH2c] = await Promise.all([
    slowHttp1(Number(new URL(gw.url).port)),
    slowHttp2(gw.port('internal'), '/up/h2'),
    slowHttp2(gw.port('internal'), '/h2c/call'),
  ]);
  assert.ok(Date.now() - started < 5000, `answered at total_ms: ${Date.now() - started} ms`);
  assert.match(h1, /^HTTP\/1\.1 408 /);
  assert.match(h1, /GW_ERR_REQUEST_TIMEOUT/);
  assert.equal(h2.status, 408);
  assert.equal(JSON.parse(h2.text).code, 'GW_ERR_REQUEST_TIMEOUT');
  assert.equal(toH2c.status, 408, 'through an h2c upstream too');
  // One counted failure would have ejected the lone target (and opened the breaker): 503 from here on.
  for (const path of ['/up/after', '/h2c/after', '/up/again', '/h2c/again'])
    assert.equal((await fetch(`${gw.url}${path}`, { method: 'POST', body: 'x' })).status, 200, path);
  assert.equal(await total('tollgate_gateway_errors_total', 'code="GW_ERR_REQUEST_TIMEOUT"'), 3);
  for (const service of ['up', 'h2c']) {
    assert.equal(await total('tollgate_upstream_ejections_total', `service="${service}"`), 0);
    assert.equal(await total('tollgate_upstream_breaker_state', `service="${service}"`), 0);
  }
});

test('a target that stops reading a body is still a slow upstream: 504, and counted against it', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${gw.url}/deaf/upload`, { method: 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    // More than the sockets between here and the target hold, so the gateway waits on the target.
    const chunk = Buffer.alloc(1 << 20);
    let sent = 0;
    const more = () => {
      while (sent < 64) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', more);
      }
      req.end();
    };
    more();
  });
  assert.equal(status, 504);
  assert.equal(await total('tollgate_upstream_ejections_total', 'service="deaf"'), 1);
});
