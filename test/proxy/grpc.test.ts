import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect, constants } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { issue, makeCa } from '../helpers/certs.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric, metricReaching } from '../helpers/metrics.ts';
import { echoClient } from '../helpers/grpc-client.ts';
import { eventsWhere } from '../helpers/events.ts';
import { MAX_GRPC_METHOD_CHARS } from '../../gateway/proxy/events/access-event.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-grpc-'));
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'api.test', dns: ['api.test'] });
let servers: EchoServer[];
let gw: TestGateway;
let client: ReturnType<typeof echoClient>;

before(async () => {
  servers = [await startEchoServer(), await startEchoServer()];
  const targets = servers.map((s) => ({ url: `http://127.0.0.1:${s.port}` }));
  gw = await startGateway({
    listeners: [
      { name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] },
      { name: 'public', listen: '127.0.0.1:0', tls: { certificates: [cert] } },
    ],
    services: [
      // The issue's example, and the echo service on a gRPC-only route.
      { name: 'greeter', routes: [{ paths: ['/helloworld.Greeter/'] }], upstream: { protocol: 'h2c', targets } },
      { name: 'echo', routes: [{ paths: ['/helloworld.Echo/'], grpc: true }], upstream: { protocol: 'h2c', targets } },
    ],
  });
  client = echoClient(gw.port('internal'));
});
after(async () => {
  client?.close();
  await gw?.close();
  for (const s of servers ?? []) await s.close();
});

test("the issue's example: a unary call through the h2c listener", async () => {
  assert.deepEqual(await client.sayHello('world'), { message: 'Hello world' });
});

test('unary, server-, client- and bidirectional streaming calls go through, metadata and all', async () => {
  const unary = await client.unary({ message: 'one' }, { 'x-tenant': 'acme' });
  assert.equal(unary.message, 'one');
  assert.match(unary.metadata, /^x-tenant=acme$/m);
  assert.match(unary.metadata, /^x-request-id=/m, 'the gateway added its request id');
  const streamed = await client.serverStream({ message: 'n', repeat: 50 });
  assert.equal(streamed.error, undefined);
  assert.deepEqual(
    streamed.replies.map((r) => r.index),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(await client.clientStream(['a', 'b', 'c']), {
    message: 'a,b,c',
    index: 3,
    metadata: '',
    padding: Buffer.alloc(0),
  });
  const bidi = await client.bidi(['x', 'y', 'z']);
  assert.deepEqual(
    bidi.map((r) => r.message),
    ['x', 'y', 'z'],
  );
});

test('over TLS (ALPN h2) the same calls go through', async () => {
  const secure = echoClient(gw.port('public'), ca.cert);
  try {
    assert.equal((await secure.unary({ message: 'tls' })).message, 'tls');
    assert.equal((await secure.serverStream({ message: 's', repeat: 5 })).replies.length, 5);
  } finally {
    secure.close();
  }
});

test('each call is balanced on its own, over the connections the channel keeps', async () => {
  const before = servers.map((s) => s.calls.get('Unary') ?? 0);
  for (let i = 0; i < 20; i++) await client.unary({ message: `${i}` });
  const after = servers.map((s, i) => (s.calls.get('Unary') ?? 0) - before[i]);
  assert.equal(after[0] + after[1], 20);
  assert.ok(after[0] >= 5 && after[1] >= 5, `calls per target: ${after}`);
});

test('each call is one access event: protocol, TLS version, grpc-status, method and messages each way', async () => {
  const tagged = (tag: string) => (e: { grpcMethod: string; traceId: string }) => e.traceId === tag;
  const traceparent = (n: number) => `00-${'a'.repeat(31)}${n}-${'b'.repeat(16)}-01`;
  const tag = (n: number) => `${'a'.repeat(31)}${n}`;
  await client.clientStream(['a', 'b', 'c', 'd'], { traceparent: traceparent(1) });
  await client.serverStream({ message: 'n', repeat: 7, fail_code: 9 }, { traceparent: traceparent(2) });
  const secure = echoClient(gw.port('public'), ca.cert);
  try {
    await secure.unary({ message: 'tls' }, { traceparent: traceparent(3) });
  } finally {
    secure.close();
  }
  const [upload] = await eventsWhere(gw, tagged(tag(1)));
  assert.deepEqual(
    [upload.protocol, upload.tlsVersion, upload.grpcStatus, upload.grpcMethod, upload.messagesIn, upload.messagesOut],
    ['grpc', '', 0, '/helloworld.Echo/ClientStream', 4, 1],
  );
  const [failed] = await eventsWhere(gw, tagged(tag(2)));
  assert.deepEqual(
    [failed.protocol, failed.grpcStatus, failed.grpcMethod, failed.messagesIn, failed.messagesOut, failed.status],
    ['grpc', 9, '/helloworld.Echo/ServerStream', 1, 7, 200],
  );
  const [overTls] = await eventsWhere(gw, tagged(tag(3)));
  assert.deepEqual([overTls.protocol, overTls.tlsVersion, overTls.grpcStatus], ['grpc', 'TLSv1.3', 0]);
  await raw({ ':path': '/nowhere.Service/Method', ...grpcCall, traceparent: traceparent(4) });
  await raw({ ':path': `/nowhere.Service/${'M'.repeat(6000)}`, ...grpcCall, traceparent: traceparent(5) });
  const [long] = await eventsWhere(gw, tagged(tag(5)));
  assert.equal(long?.grpcMethod.length, MAX_GRPC_METHOD_CHARS, 'a 6000-character path is counted, its method cut');
  const [unrouted] = await eventsWhere(gw, tagged(tag(4)));
  assert.deepEqual(
    [unrouted?.grpcMethod, unrouted?.grpcStatus, unrouted?.messagesIn, unrouted?.status],
    ['/nowhere.Service/Method', 12, 0, 404],
    "the gateway's own status, recorded with its HTTP status",
  );
});

test("an upstream's error status and message reach the client as it sent them, and are counted", async () => {
  const counted = (status: string) =>
    metric(gw, 'tollgate_grpc_calls_total', `service="echo",route="echo-0",grpc_status="${status}"`);
  const [notFound, failedPrecondition] = [await counted('NOT_FOUND'), await counted('FAILED_PRECONDITION')];
  await assert.rejects(client.unary({ message: 'x', fail_code: 5 }), (err: any) => {
    assert.equal(err.code, 5);
    assert.equal(err.details, 'failed as asked (5)');
    return true;
  });
  const failed = await client.serverStream({ message: 'x', repeat: 3, fail_code: 9 });
  assert.equal(failed.replies.length, 3);
  assert.equal(failed.error?.code, 9);
  assert.deepEqual(
    [await counted('NOT_FOUND'), await counted('FAILED_PRECONDITION')],
    [notFound + 1, failedPrecondition + 1],
    'trailers-only (unary) and trailers after messages (stream) alike',
  );
});

test("a call's deadline holds through the gateway: DEADLINE_EXCEEDED, and the upstream call is cancelled", async () => {
  const cancelled = servers.reduce((n, s) => n + s.cancelled, 0);
  const started = Date.now();
  await assert.rejects(client.unary({ message: 'slow', delay_ms: 2000 }, {}, 200), (err: any) => err.code === 4);
  assert.ok(Date.now() - started < 1500);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(
    servers.reduce((n, s) => n + s.cancelled, 0),
    cancelled + 1,
  );
});

test('a deadline past what a timer runs (30 days) is a deadline, not an instant DEADLINE_EXCEEDED', async () => {
  const reply = await client.unary({ message: 'far' }, {}, 30 * 24 * 3600 * 1000);
  assert.equal(reply.message, 'far');
});

test('a client-streaming call cancelled mid-upload cancels the upstream call, and is counted', async () => {
  const cancelled = servers.reduce((n, s) => n + s.cancelled, 0);
  const started = servers.reduce((n, s) => n + (s.calls.get('ClientStream') ?? 0), 0);
  const session = connect(`http://127.0.0.1:${gw.port('internal')}`);
  const stream = session.request({ ':method': 'POST', ':path': '/helloworld.Echo/ClientStream', ...grpcCall });
  stream.on('error', () => undefined);
  // One EchoRequest { message: "a" }, and no end of stream: the upload is still going.
  stream.write(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x61]));
  await waitFor(() => servers.reduce((n, s) => n + (s.calls.get('ClientStream') ?? 0), 0) === started + 1);
  stream.close(constants.NGHTTP2_CANCEL);
  await waitFor(() => servers.reduce((n, s) => n + s.cancelled, 0) === cancelled + 1);
  session.close();
  const [event] = await eventsWhere(gw, (e) => e.grpcMethod === '/helloworld.Echo/ClientStream' && e.messagesIn === 1);
  assert.equal(event?.status, 499, JSON.stringify(event));
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), 'waited 2 s');
}

/** One raw HTTP/2 request to the h2c listener: status, headers and trailers (what a gRPC client reads). */
function raw(headers: Record<string, string>, body?: Buffer) {
  return new Promise<{ headers: Record<string, unknown>; trailers: Record<string, unknown>; endAfterHeaders: boolean }>(
    (resolve, reject) => {
      const session = connect(`http://127.0.0.1:${gw.port('internal')}`);
      session.on('error', reject);
      const stream = session.request({ ':method': 'POST', ...headers });
      let got: Record<string, unknown> = {};
      let trailers: Record<string, unknown> = {};
      let endAfterHeaders = false;
      stream.on('response', (h, flags) => {
        got = h;
        // END_STREAM on the HEADERS frame (flag 0x1): a trailers-only response.
        endAfterHeaders = (flags & 0x1) === 0x1;
      });
      stream.on('trailers', (t) => (trailers = t));
      stream.resume();
      stream.on('end', () => {
        session.close();
        resolve({ headers: got, trailers, endAfterHeaders });
      });
      stream.end(body);
    },
  );
}

const grpcCall = { 'content-type': 'application/grpc', te: 'trailers' };

test('the gateway answers a gRPC call in gRPC: trailers-only, with a status and a message', async () => {
  const unrouted = await raw({ ':path': '/nowhere.Service/Method', ...grpcCall });
  assert.equal(unrouted.headers[':status'], 200);
  assert.equal(unrouted.headers['grpc-status'], '12', 'UNIMPLEMENTED for no route');
  assert.equal(unrouted.headers['grpc-message'], 'No route matches this request.');
  assert.equal(unrouted.endAfterHeaders, true, 'one HEADERS frame with END_STREAM');
  const badTimeout = await raw({ ':path': '/helloworld.Echo/Unary', 'grpc-timeout': '5 seconds', ...grpcCall });
  assert.equal(badTimeout.headers['grpc-status'], '13', 'INTERNAL for a malformed grpc-timeout');
  const notGrpc = await raw({ ':path': '/helloworld.Echo/Unary', 'content-type': 'application/json' });
  assert.equal(notGrpc.headers[':status'], 415, 'a gRPC-only route refuses what is not gRPC');
  const errors = (code: string) => metricReaching(gw, 'tollgate_gateway_errors_total', `code="${code}"`, 1);
  assert.equal(await errors('GW_ERR_GRPC_TIMEOUT_INVALID'), 1, 'each is counted by its code');
  assert.equal(await errors('GW_ERR_NOT_GRPC'), 1);
});

test("a client stream past its service's body limit: RESOURCE_EXHAUSTED; calls under it go through", async () => {
  const small = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        name: 'echo',
        max_body_bytes: 300,
        routes: [{ paths: ['/helloworld.Echo/'] }],
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${servers[0].port}` }] },
      },
    ],
  });
  const limited = echoClient(small.port('internal'));
  try {
    // A gRPC body has no Content-Length: the limit holds as its messages stream through.
    const refused = await limited.clientStream(['x'.repeat(120), 'y'.repeat(120), 'z'.repeat(120)]).catch((e) => e);
    assert.equal(refused.code, 8, `RESOURCE_EXHAUSTED, got ${refused.code} ${refused.details}`);
    assert.equal((await limited.clientStream(['a', 'b'])).message, 'a,b');
    const events = await eventsWhere(small, (e) => e.grpcMethod === '/helloworld.Echo/ClientStream', 2);
    assert.deepEqual(
      events.map((e) => [e.grpcStatus, e.errorClass]).sort(),
      [
        [0, 'none'],
        [8, 'body_too_large'],
      ],
      'both calls are counted, the refused one with its reason',
    );
  } finally {
    limited.close();
    await small.close();
  }
});
