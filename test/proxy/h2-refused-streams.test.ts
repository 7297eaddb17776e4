// An HTTP/2 target that sends GOAWAY refuses the streams that crossed it (REFUSED_STREAM: it did nothing with them),
// as a gRPC server does at its max_connection_age. Such a request goes again to the same target on a new connection,
// its body too (kept as it is sent, up to 64 KiB), and neither the client nor the target's health sees it; one with
// a larger body cannot go again. For h2c upstreams (the gateway's own client) and h2 ones (undici's).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { constants, createSecureServer, createServer, type Http2SecureServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { echoClient } from '../helpers/grpc-client.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { eventsWhere } from '../helpers/events.ts';

const tlsFile = (name: string) => fileURLToPath(new URL(`../helpers/tls/${name}`, import.meta.url));
const CERT = tlsFile('localhost-cert.pem');

interface GoawayUpstream {
  server: Http2Server | Http2SecureServer;
  answered: string[];
  refused: string[];
}

/**
 * Answers the first stream of each connection with its body; a later one, once its body is in, gets a GOAWAY that
 * names the first as the last stream processed, so the client's end refuses it.
 */
function goawayUpstream(tls: boolean): GoawayUpstream {
  const server = tls
    ? createSecureServer({ cert: readFileSync(CERT), key: readFileSync(tlsFile('localhost-key.pem')) })
    : createServer();
  const up: GoawayUpstream = { server, answered: [], refused: [] };
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('error', () => undefined); // the refused ones, closed below
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const seen = `${headers[':method']} ${headers[':path']} ${body.length}`;
      if (stream.id === 1) {
        up.answered.push(seen);
        stream.respond({ ':status': 200 });
        return void stream.end(body);
      }
      up.refused.push(seen);
      stream.session!.goaway(constants.NGHTTP2_NO_ERROR, 1);
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
    });
  });
  return up;
}

const ups: Record<'h2c' | 'h2', GoawayUpstream> = { h2c: goawayUpstream(false), h2: goawayUpstream(true) };

let grpcServer: EchoServer;
let gw: TestGateway;

before(async () => {
  for (const up of Object.values(ups)) await new Promise<void>((resolve) => up.server.listen(0, '127.0.0.1', resolve));
  // A real gRPC server that sends GOAWAY to each connection 50 ms old.
  grpcServer = await startEchoServer(0, '127.0.0.1', {
    'grpc.max_connection_age_ms': 50,
    'grpc.max_connection_age_grace_ms': 10_000,
  });
  const port = (up: GoawayUpstream) => (up.server.address() as AddressInfo).port;
  // One failure would eject the lone target: a refused stream must not count as one.
  const passive = { passive: { max_failures: 1, ejection_ms: 60_000 } };
  gw = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        name: 'h2c',
        routes: [{ paths: ['/h2c'] }],
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${port(ups.h2c)}` }], health: passive },
      },
      {
        name: 'h2',
        routes: [{ paths: ['/h2'] }],
        upstream: {
          protocol: 'h2',
          targets: [{ url: `https://localhost:${port(ups.h2)}` }],
          tls: { ca_file: CERT },
          health: passive,
        },
      },
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
  for (const up of Object.values(ups)) await new Promise((resolve) => up.server.close(resolve));
  await grpcServer?.close();
});

const resent = (service: string) =>
  metric(gw, 'tollgate_upstream_stale_connection_retries_total', `service="${service}",group=""`);

async function call(path: string, method: string, bytes: number): Promise<{ status: number; body: Buffer }> {
  const body = bytes > 0 ? Buffer.alloc(bytes, 0x61) : undefined;
  const res = await fetch(`${gw.url}${path}`, { method, body });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

for (const protocol of ['h2c', 'h2'] as const) {
  const up = ups[protocol];
  const path = `/${protocol}`;

  test(`${protocol}: requests on streams the target refused after its GOAWAY go again, bodies and all`, async () => {
    // Each request after a connection's first is refused once, then answered as the first of a new connection.
    const sent = [
      ['POST', 5],
      ['GET', 0],
      ['POST', 40_000],
      ['PUT', 64 * 1024],
    ] as const;
    for (const [method, bytes] of sent) {
      const res = await call(path, method, bytes);
      assert.equal(res.status, 200, `${method} of ${bytes} bytes`);
      assert.equal(res.body.length, bytes, 'the whole body reached the target');
      assert.ok(res.body.every((b) => b === 0x61));
    }
    assert.deepEqual(
      up.answered,
      sent.map(([m, n]) => `${m} ${path} ${n}`),
    );
    assert.deepEqual(up.refused, up.answered.slice(1));
    // undici sends the GET, bodiless, again itself.
    assert.equal(await resent(protocol), protocol === 'h2' ? 2 : 3);
    assert.equal(await metric(gw, 'tollgate_upstream_ejections_total', `service="${protocol}"`), 0);
    // One request each, its body counted once.
    const events = await eventsWhere(gw, (e) => e.service === protocol, sent.length);
    assert.deepEqual(
      events.map((e) => [e.method, e.status, e.bytesIn]),
      sent.map(([method, bytes]) => [method, 200, bytes]),
    );
  });

  test(`${protocol}: a body larger than what is kept cannot go again: the refused request gets 502`, async () => {
    up.answered.length = 0;
    up.refused.length = 0;
    const before = await resent(protocol);
    // Refused on the connection the last test left, then answered first on a new one.
    assert.equal((await call(path, 'POST', 1)).status, 200);
    const big = await call(path, 'POST', 64 * 1024 + 1);
    assert.equal(big.status, 502);
    assert.deepEqual(up.refused, [`POST ${path} 1`, `POST ${path} ${64 * 1024 + 1}`]);
    assert.equal((await resent(protocol)) - before, 1);
  });
}

test('gRPC calls to a server that recycles its connections every 50 ms all succeed', async () => {
  const client = echoClient(gw.port('internal'));
  try {
    const before = await resent('echo');
    const failed: string[] = [];
    let calls = 0;
    // Until some calls crossed a GOAWAY (each is resent), 20 at a time; at most 20 s.
    for (const end = Date.now() + 20_000; Date.now() < end && (await resent('echo')) - before < 5; ) {
      const batch = Array.from({ length: 20 }, (_, i) =>
        client.unary({ message: `m${i}` }).then(
          (reply) => assert.equal(reply.message, `m${i}`),
          (error) => failed.push(`${error.code} ${error.details}`),
        ),
      );
      await Promise.all(batch);
      calls += batch.length;
    }
    assert.deepEqual(failed, [], `${failed.length} of ${calls} calls failed`);
    // Each call counted once, its one message in.
    const events = await eventsWhere(gw, (e) => e.service === 'echo', calls);
    assert.equal(events.length, calls);
    assert.ok(
      events.every((e) => e.grpcStatus === 0 && e.messagesIn === 1),
      JSON.stringify(events[0]),
    );
    const again = (await resent('echo')) - before;
    assert.ok(again >= 5, `only ${again} resent in ${calls} calls`);
  } finally {
    client.close();
  }
});
