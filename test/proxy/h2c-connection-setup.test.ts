// A new h2c connection until the target speaks HTTP/2: one call goes on it, the rest wait for the target's SETTINGS
// (its stream limit), and a target that never sends them (a port that accepts and says nothing, an HTTP/1.1 server)
// fails the calls waiting for it together, after connect_ms at most, not one connection after another.
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:http2';
import { type AddressInfo, connect, createServer as createNetServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';

/** An h2c target that allows 5 streams per connection (its SETTINGS), answering each after 50 ms. */
const limited = { server: createServer({ settings: { maxConcurrentStreams: 5 } }), peak: 0, answered: 0 };
limited.server.on('session', (session) => {
  let open = 0;
  session.on('stream', (stream) => {
    limited.peak = Math.max(limited.peak, ++open);
    stream.on('close', () => open--);
    setTimeout(() => {
      limited.answered++;
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }, 50);
  });
});

/** In front of `limited`: what it sends reaches the gateway 200 ms late, so calls made meanwhile precede its limit. */
const slowStart = createNetServer((client) => {
  const target = connect((limited.server.address() as AddressInfo).port, '127.0.0.1');
  const held: Buffer[] = [];
  let holding = true;
  setTimeout(() => {
    holding = false;
    for (const chunk of held.splice(0)) client.write(chunk);
  }, 200);
  target.on('data', (chunk: Buffer) => (holding ? held.push(chunk) : client.write(chunk)));
  client.pipe(target);
  // Either side's error or close ends both.
  target.on('close', () => client.destroy());
  client.on('close', () => target.destroy());
  target.on('error', () => target.destroy());
  client.on('error', () => client.destroy());
});

/** Accepts connections and never says anything. */
const silent = createNetServer((socket) => socket.on('error', () => undefined));
/** An HTTP/1.1 server, configured as h2c by mistake. */
const http1 = createHttpServer((_req, res) => res.end('http/1.1'));

let gw: TestGateway;

before(async () => {
  const servers: Server[] = [limited.server as unknown as Server, slowStart, silent, http1 as unknown as Server];
  for (const server of servers) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = (server: { address(): unknown }) => ({
    protocol: 'h2c',
    targets: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }],
    // Long enough for the held SETTINGS; the header clock longer still, so the connect timeout is what ends a call.
    timeouts: { connect_ms: 1000, header_ms: 10_000 },
  });
  gw = await startGateway({
    services: [
      { name: 'limited', routes: [{ paths: ['/limited'] }], upstream: target(slowStart) },
      { name: 'silent', routes: [{ paths: ['/silent'] }], upstream: target(silent) },
      { name: 'http1', routes: [{ paths: ['/http1'] }], upstream: target(http1) },
    ],
  });
});
after(async () => {
  await gw?.close();
  for (const server of [limited.server, slowStart, silent, http1]) server.close();
});

/** `n` requests to `path` at once: each one's status, error code and milliseconds. */
function burst(path: string, n: number): Promise<{ status: number; code: string; ms: number }[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const start = performance.now();
      const res = await fetch(`${gw.url}${path}/${i}`);
      const body = (await res.json().catch(() => ({}))) as { code?: string };
      return { status: res.status, code: body.code ?? '', ms: performance.now() - start };
    }),
  );
}

test('a burst to an h2c target with a low stream limit waits for its SETTINGS instead of going past it', async () => {
  // 40 at once on no connection yet, the target's SETTINGS late: the first goes at once, the rest wait for its limit.
  const results = await burst('/limited', 40);
  assert.deepEqual(
    results.map((r) => r.status),
    Array(40).fill(200),
  );
  assert.equal(limited.answered, 40);
  assert.ok(limited.peak <= 5, `${limited.peak} streams at once on one connection`);
  const resent = await metric(gw, 'tollgate_upstream_stale_connection_retries_total', 'service="limited",group=""');
  assert.equal(resent, 0, 'no stream was refused');
});

test('a target that accepts and never speaks HTTP/2 fails a burst together, after connect_ms', async () => {
  const results = await burst('/silent', 10);
  assert.deepEqual(
    results.map((r) => `${r.status} ${r.code}`),
    Array(10).fill('504 GW_ERR_UPSTREAM_TIMEOUT'),
  );
  const slowest = Math.max(...results.map((r) => r.ms));
  assert.ok(slowest < 3000, `the last answered after ${Math.round(slowest)} ms (connect_ms 1000)`);
});

test('an HTTP/1.1 server taken for an h2c one fails a burst at once', async () => {
  const results = await burst('/http1', 10);
  assert.deepEqual(
    results.map((r) => r.status),
    Array(10).fill(502),
  );
  assert.ok(Math.max(...results.map((r) => r.ms)) < 1000);
});
