import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { protos, startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { echoClient } from '../helpers/grpc-client.ts';
import { metric } from '../helpers/metrics.ts';
import { closedPort } from '../helpers/ports.ts';

let server: EchoServer;
let gw: TestGateway;
let client: ReturnType<typeof echoClient>;

before(async () => {
  server = await startEchoServer();
  const upstream = { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${server.port}` }] };
  const echo = (name: string, more: object) => ({
    name,
    routes: [{ paths: ['/helloworld.Echo/'], headers: { 'x-lane': name }, grpc: true }],
    upstream,
    ...more,
  });
  gw = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      echo('keyed', { auth: { type: 'api_key' } }),
      echo('limited', { rate_limits: [{ name: 'per-client', key: 'client_ip', qps: 1, burst: 1 }] }),
      echo('gone', { upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${await closedPort()}` }] } }),
      echo('open', {}),
    ],
  });
  client = echoClient(gw.port('internal'));
});
after(async () => {
  client?.close();
  await gw?.close();
  await server?.close();
});

const statusOf = (call: Promise<unknown>) =>
  call.then(
    () => 0,
    (err: { code: number }) => err.code,
  );

test('refused credentials: UNAUTHENTICATED; a rate limit: RESOURCE_EXHAUSTED; upstream down: UNAVAILABLE', async () => {
  assert.equal(await statusOf(client.unary({ message: 'x' }, { 'x-lane': 'keyed' })), grpc.status.UNAUTHENTICATED);
  assert.equal(await statusOf(client.unary({ message: 'x' }, { 'x-lane': 'limited' })), grpc.status.OK);
  assert.equal(await statusOf(client.unary({ message: 'x' }, { 'x-lane': 'limited' })), grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(await statusOf(client.unary({ message: 'x' }, { 'x-lane': 'gone' })), grpc.status.UNAVAILABLE);
  assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_RATE_LIMITED"'), 1);
  // Recorded with the HTTP status of the refusal, as an HTTP/1.1 request would be, though sent as 200 + grpc-status.
  const requests = (service: string, statusClass: string) =>
    metric(gw, 'tollgate_requests_total', `service="${service}",route="${service}-0",status_class="${statusClass}"`);
  assert.deepEqual(
    await Promise.all([requests('keyed', '4xx'), requests('limited', '4xx'), requests('limited', '2xx')]),
    [1, 1, 1],
  );
  assert.equal(await requests('gone', '5xx'), 1);
  const calls = (service: string, status: string) =>
    metric(gw, 'tollgate_grpc_calls_total', `service="${service}",route="${service}-0",grpc_status="${status}"`);
  assert.deepEqual(
    await Promise.all([
      calls('keyed', 'UNAUTHENTICATED'),
      calls('limited', 'OK'),
      calls('limited', 'RESOURCE_EXHAUSTED'),
      calls('gone', 'UNAVAILABLE'),
    ]),
    [1, 1, 1, 1],
  );
});

test('an upstream that vanishes mid-call still ends the call with a status', async () => {
  const doomed = await startEchoServer();
  const local = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        name: 'echo',
        routes: [{ paths: ['/helloworld.Echo/'] }],
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${doomed.port}` }] },
      },
    ],
  });
  const c = echoClient(local.port('internal'));
  try {
    const call = c.serverStream({ message: 'x', repeat: 100, delay_ms: 20 });
    await eventually(() => (doomed.calls.get('ServerStream') ?? 0) > 0);
    await new Promise((r) => setTimeout(r, 100));
    doomed.kill();
    const result = await Promise.race([call, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000))]);
    assert.notEqual(result, 'hung');
    const { replies, error } = result as Awaited<typeof call>;
    assert.ok(replies.length > 0 && replies.length < 100, `${replies.length} replies before the end`);
    assert.ok(error && [grpc.status.UNAVAILABLE, grpc.status.INTERNAL, grpc.status.CANCELLED].includes(error.code));
  } finally {
    c.close();
    await local.close();
  }
});

test('a client that cancels its call cancels the upstream call', async () => {
  const before = server.cancelled;
  const echo = new protos.echo.helloworld.Echo(`127.0.0.1:${gw.port('internal')}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('x-lane', 'open');
  const call = echo.ServerStream({ message: 'x', repeat: 1000, delay_ms: 10 }, md);
  call.on('error', () => undefined);
  await new Promise((r) => call.once('data', r));
  call.cancel();
  assert.equal(await eventually(() => server.cancelled === before + 1, 3000), true);
  echo.close();
});

test('a gRPC health check follows the server: NOT_SERVING takes the target out, SERVING brings it back', async () => {
  const checked = await startEchoServer();
  const health = (service: string) => ({
    protocol: 'h2c',
    targets: [{ url: `http://127.0.0.1:${checked.port}` }],
    health: { active: { kind: 'grpc', grpc_service: service, interval_ms: 100, unhealthy_threshold: 1 } },
  });
  const local = await startGateway({
    services: [
      { name: 'echo', routes: [{ paths: ['/helloworld.Echo/'] }], upstream: health('helloworld.Echo') },
      { name: 'unknown', routes: [{ paths: ['/other/'] }], upstream: health('no.such.Service') },
    ],
  });
  const healthy = async (service: string) => {
    const view = await (await fetch(`${local.adminUrl}/upstreams/${service}`)).json();
    return view.health[0]?.healthy as boolean | undefined;
  };
  try {
    assert.equal(await eventually(async () => (checked.calls.get('Check') ?? 0) >= 4), true);
    assert.equal(await healthy('echo'), true);
    assert.equal(await eventually(async () => (await healthy('unknown')) === false), true, 'SERVICE_UNKNOWN');
    checked.serving.status = 'NOT_SERVING';
    assert.equal(await eventually(async () => (await healthy('echo')) === false), true);
    checked.serving.status = 'SERVING';
    assert.equal(await eventually(async () => (await healthy('echo')) === true), true);
  } finally {
    await local.close();
    await checked.close();
  }
});
