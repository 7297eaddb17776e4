// Spans of the other protocols, in a real OTLP receiver: a gRPC call by the RPC conventions, a WebSocket connection
// (its handshake to the upstream as the client span), and a TCP connection through a stream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { eventsWhere } from '../helpers/events.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { echoClient } from '../helpers/grpc-client.ts';
import { OTLP_HTTP, parentOf, skipWithoutJaeger, tag, traceOf } from '../helpers/jaeger.ts';
import { roundTrip, tcpServer, type TcpServer } from '../helpers/tcp.ts';

const skip = skipWithoutJaeger;
let gw: TestGateway;
let grpcServer: EchoServer;
let wss: WebSocketServer;
let tcp: TcpServer;

before(async () => {
  if (skip) return;
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_HTTP,
    OTEL_SERVICE_NAME: `tollgate-test-${randomBytes(4).toString('hex')}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  grpcServer = await startEchoServer();
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
  tcp = await tcpServer('tcp:');
  gw = await startGateway({
    tracing: { enabled: true },
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      {
        name: 'echo',
        routes: [{ paths: ['/helloworld.Echo/'], grpc: true }],
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${grpcServer.port}` }] },
      },
      {
        name: 'chat',
        routes: [{ paths: ['/ws'] }],
        upstream: { targets: [{ url: `http://127.0.0.1:${(wss.address() as { port: number }).port}` }] },
      },
    ],
    streams: [
      { name: 'cache', listen: '127.0.0.1:0', upstream: { targets: [{ url: `tcp://127.0.0.1:${tcp.port}` }] } },
    ],
  });
  // Until the SDK has loaded, requests go untraced.
  await eventually(async () => {
    await fetch(`${gw.url}/nothing`);
    const [e] = await eventsWhere(gw, (x) => x.traceId !== '', 1, 200);
    return e !== undefined;
  }, 10_000);
});
after(async () => {
  await gw?.close();
  await grpcServer?.close();
  wss?.close();
  await tcp?.close();
});

test('a gRPC call is a span by the RPC conventions: named service/method, with its grpc status code', {
  skip,
}, async () => {
  const client = echoClient(gw.port('internal'));
  const trace = randomBytes(16).toString('hex');
  try {
    await client.unary({ message: 'hi' }, { traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01` });
  } finally {
    client.close();
  }
  const stored = (await traceOf(trace, 2))!;
  const server = stored.spans.find((s) => tag(s, 'span.kind') === 'server')!;
  assert.equal(server.operationName, 'helloworld.Echo/Unary');
  assert.equal(tag(server, 'rpc.system'), 'grpc');
  assert.equal(tag(server, 'rpc.service'), 'helloworld.Echo');
  assert.equal(tag(server, 'rpc.method'), 'Unary');
  assert.equal(tag(server, 'rpc.grpc.status_code'), 0);
  assert.equal(tag(server, 'network.protocol.version'), '2');
  const client_ = stored.spans.find((s) => tag(s, 'span.kind') === 'client')!;
  assert.equal(parentOf(client_), server.spanID);
});

test('a WebSocket connection is one server span from handshake to close; its handshake upstream the client span', {
  skip,
}, async () => {
  const trace = randomBytes(16).toString('hex');
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws/room`, {
    headers: { traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01` },
  });
  await new Promise((r) => ws.once('open', r));
  ws.send('x');
  await new Promise((r) => ws.once('message', r));
  ws.close();
  await new Promise((r) => ws.once('close', r));
  const stored = (await traceOf(trace, 2))!;
  const server = stored.spans.find((s) => tag(s, 'span.kind') === 'server')!;
  const handshake = stored.spans.find((s) => tag(s, 'span.kind') === 'client')!;
  assert.equal(tag(server, 'http.response.status_code'), 101);
  assert.equal(tag(handshake, 'http.response.status_code'), 101);
  assert.equal(parentOf(handshake), server.spanID);
  assert.ok(server.duration >= handshake.duration, 'the connection outlasts its handshake');
});

test('a TCP connection through a stream is a server span of its own, its trace id in its access event', {
  skip,
}, async () => {
  const { data } = await roundTrip(gw.port('cache'), 'ping');
  assert.equal(data.toString(), 'tcp:ping');
  const [event] = await eventsWhere(gw, (e) => e.protocol === 'tcp' && e.traceId !== '');
  assert.ok(event, 'the connection has a trace id');
  const [span] = (await traceOf(event.traceId, 1))!.spans;
  assert.equal(span.operationName, 'tcp cache');
  assert.equal(tag(span, 'network.transport'), 'tcp');
  assert.equal(tag(span, 'tollgate.stream.bytes_in'), 4);
  assert.equal(tag(span, 'tollgate.stream.bytes_out'), 8);
});
