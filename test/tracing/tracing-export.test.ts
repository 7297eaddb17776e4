// How spans leave the gateway: each OTLP protocol the specification lists reaches a real receiver, and a receiver
// that is gone or hung costs requests nothing but counted spans.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { eventually, service, startGateway } from '../helpers/gateway.ts';
import { OTLP_GRPC, OTLP_HTTP, skipWithoutJaeger, traceOf } from '../helpers/jaeger.ts';
import { metric } from '../helpers/metrics.ts';
import { admin, reload } from '../helpers/admin.ts';
import { closedPort } from '../helpers/ports.ts';
import { startUpstream } from '../helpers/upstream.ts';

const skip = skipWithoutJaeger;
const hex = (n: number) => randomBytes(n).toString('hex');

/** A gateway whose process environment says how to export (OTEL_* variables are read when tracing starts). */
async function tracedGateway(env: Record<string, string>, tracing: Record<string, unknown> = {}) {
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key];
  Object.assign(process.env, { OTEL_BSP_SCHEDULE_DELAY: '100', ...env });
  const up = await startUpstream('up');
  const gw = await startGateway({
    tracing: { enabled: true, ...tracing },
    services: [service('api', [up.url], [{ paths: ['/api'] }])],
  });
  // The SDK loads while the first requests pass untraced; once it has, the upstream hears of the gateway's own span
  // instead of the caller's. These warm-up spans count like any others.
  const sent = `00-${hex(16)}-${hex(8)}-01`;
  const traced = async () => {
    await fetch(`${gw.url}/api/warm`, { headers: { traceparent: sent } });
    const seen = up.seen.at(-1)?.headers.traceparent;
    return seen !== undefined && seen !== sent;
  };
  const close = async () => {
    await gw.close();
    await up.close();
  };
  try {
    assert.ok(await eventually(traced, 10_000), 'tracing started');
  } catch (error) {
    await close();
    throw error;
  }
  return { gw, close };
}

for (const [protocol, endpoint] of [
  ['http/protobuf', OTLP_HTTP],
  ['http/json', OTLP_HTTP],
  ['grpc', OTLP_GRPC],
] as const) {
  test(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} reaches the receiver`, { skip }, async () => {
    const { gw, close } = await tracedGateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    });
    try {
      const trace = hex(16);
      const sent = async () => {
        await fetch(`${gw.url}/api/x`, { headers: { traceparent: `00-${trace}-${hex(8)}-01` } });
        return (await traceOf(trace, 2, 1000)) !== undefined;
      };
      assert.ok(await eventually(sent, 10_000), `a trace over ${protocol}`);
      // The receiver may show the trace before its answer reaches the gateway.
      const exported = () => metric(gw, 'tollgate_tracing_spans_total', 'result="exported"');
      assert.ok(await eventually(async () => (await exported()) >= 2, 5000), 'its spans counted as exported');
    } finally {
      await close();
    }
  });
}

test('a receiver that is gone costs requests nothing: they answer, and its spans are counted as failed', {
  skip,
}, async () => {
  // The exporter retries a refused connection with backoff until its timeout (10 s by default), and the batch
  // processor sends one batch at a time: with the default, 50 requests' spans took two batches and up to 20 s to fail.
  const { gw, close } = await tracedGateway({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
  });
  try {
    for (let i = 0; i < 50; i++) assert.equal((await fetch(`${gw.url}/api/${i}`)).status, 200);
    assert.ok(
      await eventually(async () => (await metric(gw, 'tollgate_tracing_spans_total', 'result="failed"')) >= 50, 10_000),
      'their spans failed to export and were counted',
    );
    assert.equal(await metric(gw, 'tollgate_tracing_spans_total', 'result="exported"'), 0);
  } finally {
    await close();
  }
});

test('a receiver that hangs fills the queue, not memory: what does not fit is dropped and counted', {
  skip,
}, async () => {
  // Accepts connections and never answers.
  const hung: Server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const port = (hung.address() as { port: number }).port;
  const { gw, close } = await tracedGateway(
    { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '60000' },
    { max_queue_spans: 32 },
  );
  try {
    const started = performance.now();
    for (let i = 0; i < 100; i++) assert.equal((await fetch(`${gw.url}/api/${i}`)).status, 200);
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `100 requests took ${Math.round(ms)} ms with the receiver hung`);
    assert.ok(
      (await metric(gw, 'tollgate_tracing_spans_total', 'result="dropped"')) >= 100,
      'two spans a request, 32 queued at most: the rest dropped',
    );
  } finally {
    await close();
    hung.close();
  }
});

test('max_queue_spans is read at start: tracing turned on later keeps the start bound, and the reload says so', {
  skip,
}, async () => {
  const hung: Server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key];
  const port = (hung.address() as { port: number }).port;
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  const up = await startUpstream('up');
  const gw = await startGateway({
    tracing: { enabled: false, max_queue_spans: 32 },
    services: [service('api', [up.url], [{ paths: ['/api'] }])],
  });
  try {
    await reload(gw, (c) => {
      c.tracing = { enabled: true, max_queue_spans: 1000, sample_ratio: 1 };
    });
    assert.deepEqual((await admin(gw, 'GET', '/config')).json.restartPending, ['tracing.max_queue_spans']);
    // Untraced until the SDK has loaded; then two spans a request, 32 of them queued at most.
    assert.ok(
      await eventually(async () => {
        await fetch(`${gw.url}/api/warm`);
        return (await metric(gw, 'tollgate_tracing_spans_total', 'result="dropped"')) > 0;
      }, 10_000),
      'spans are dropped while the receiver hangs',
    );
    for (let i = 0; i < 100; i++) assert.equal((await fetch(`${gw.url}/api/${i}`)).status, 200);
    assert.ok((await metric(gw, 'tollgate_tracing_spans_total', 'result="dropped"')) >= 168);
  } finally {
    await gw.close();
    await up.close();
    hung.close();
  }
});
