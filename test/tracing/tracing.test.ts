// Tracing against a real OTLP receiver (Jaeger v2, started by `npm run services:up`): the spans a request makes,
// their parents across caller → gateway → upstream, their attributes, retries as two attempts, untrusted context,
// sampling changed by a reload, and the trace id in the access event.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventsWhere } from '../helpers/events.ts';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { OTLP_HTTP, parentOf, skipWithoutJaeger, tag, traceOf, tracesOfService } from '../helpers/jaeger.ts';
import { closedPort } from '../helpers/ports.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

const SERVICE_NAME = `tollgate-test-${randomBytes(4).toString('hex')}`;
const skip = skipWithoutJaeger;
let gw: TestGateway;
let up: TestUpstream;
let config: Record<string, unknown>;

const servingRatio = () =>
  (gw.manager.current().config as { tracing?: { sample_ratio?: number } }).tracing?.sample_ratio;
const traceId = () => randomBytes(16).toString('hex');
const spanId = () => randomBytes(8).toString('hex');

before(async () => {
  if (skip) return;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = OTLP_HTTP;
  process.env.OTEL_SERVICE_NAME = SERVICE_NAME;
  process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=test,team=edge%20platform';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  up = await startUpstream('up');
  const dead = await closedPort();
  config = {
    tracing: { enabled: true, sample_ratio: 1 },
    services: [
      service('api', [up.url], [{ paths: ['/api'], strip_prefix: true }]),
      // The first target refuses every connection: the request goes again to the second.
      service('retried', [`http://127.0.0.1:${dead}`, up.url], [{ paths: ['/retried'] }], {
        balancer: 'round_robin',
        retries: 1,
      }),
      service('edge', [up.url], [{ paths: ['/edge'], trust_trace_context: false }]),
      service('down', [`http://127.0.0.1:${dead}`], [{ paths: ['/down'] }]),
    ],
  };
  gw = await startGateway(config);
  await eventually(async () => {
    const res = await fetch(`${gw.url}/api/warm`);
    return res.status === 200 && (await tracesOfService(SERVICE_NAME)).length > 0;
  }, 10_000);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

test("a request continues its caller's trace: a server span under the caller's, a client span under it", {
  skip,
}, async () => {
  const trace = traceId();
  const caller = spanId();
  const res = await fetch(`${gw.url}/api/hello?x=1`, {
    headers: { traceparent: `00-${trace}-${caller}-01`, tracestate: 'vendor=1', baggage: 'tenant=acme' },
  });
  assert.equal(res.status, 200);
  const sent = up.seen.at(-1)!.headers;
  const stored = await traceOf(trace, 2);
  assert.ok(stored, 'the trace reached Jaeger');
  const server = stored.spans.find((s) => tag(s, 'span.kind') === 'server')!;
  const client = stored.spans.find((s) => tag(s, 'span.kind') === 'client')!;
  assert.equal(server.operationName, 'GET /api/*', 'named by its route, not its path');
  assert.equal(parentOf(server), caller);
  assert.equal(parentOf(client), server.spanID);
  assert.equal(sent.traceparent, `00-${trace}-${client.spanID}-01`);
  assert.equal(sent.tracestate, 'vendor=1');
  assert.equal(sent.baggage, 'tenant=acme', 'baggage goes on');
  for (const [key, value] of Object.entries({
    'http.request.method': 'GET',
    'http.route': '/api/*',
    'url.scheme': 'http',
    'url.path': '/api/hello',
    'server.address': '127.0.0.1',
    'network.protocol.version': '1.1',
    'client.address': '127.0.0.1',
    'http.response.status_code': 200,
    'tollgate.service': 'api',
    'tollgate.route': 'api-0',
  }))
    assert.equal(tag(server, key), value, key);
  assert.equal(tag(client, 'http.response.status_code'), 200);
  assert.equal(tag(client, 'url.full'), `${up.url}/hello?x=1`);
  const { serviceName, tags } = stored.processes[server.processID];
  assert.equal(serviceName, SERVICE_NAME, 'OTEL_SERVICE_NAME names it');
  const resource = Object.fromEntries(tags.map((t) => [t.key, t.value]));
  assert.equal(resource.team, 'edge platform', 'OTEL_RESOURCE_ATTRIBUTES (percent-decoded) describe it');
  assert.equal(resource['deployment.environment.name'], 'test');
  const [event] = await eventsWhere(gw, (e) => e.traceId === trace);
  assert.ok(event, 'the access event carries the trace id');
  assert.equal(event.service, 'api');
});

test('a retry shows as two attempts under one server span, the first failed with its error', { skip }, async () => {
  // Round robin sends one of the first two requests to the refusing target first.
  let stored: Awaited<ReturnType<typeof traceOf>>;
  for (let i = 0; i < 2 && stored === undefined; i++) {
    const trace = traceId();
    const res = await fetch(`${gw.url}/retried/x`, { headers: { traceparent: `00-${trace}-${spanId()}-01` } });
    assert.equal(res.status, 200);
    const t = await traceOf(trace, 3, 3000);
    if (t !== undefined && t.spans.length === 3) stored = t;
  }
  assert.ok(stored, 'a request with two attempts');
  const server = stored.spans.find((s) => tag(s, 'span.kind') === 'server')!;
  const attempts = stored.spans
    .filter((s) => tag(s, 'span.kind') === 'client')
    .sort((a, b) => a.startTime - b.startTime);
  assert.equal(attempts.length, 2);
  assert.ok(attempts.every((a) => parentOf(a) === server.spanID));
  assert.equal(tag(attempts[0], 'error.type'), 'ECONNREFUSED');
  assert.equal(tag(attempts[0], 'otel.status_code'), 'ERROR');
  assert.equal(tag(attempts[1], 'http.request.resend_count'), 1);
  assert.equal(tag(attempts[1], 'http.response.status_code'), 200);
});

test("an untrusted route starts a trace of its own and passes none of the caller's context on", { skip }, async () => {
  const trace = traceId();
  const res = await fetch(`${gw.url}/edge/x`, {
    headers: { traceparent: `00-${trace}-${spanId()}-01`, tracestate: 'evil=1', baggage: 'admin=true' },
  });
  assert.equal(res.status, 200);
  const sent = up.seen.at(-1)!.headers;
  const ours = String(sent.traceparent).split('-')[1];
  assert.notEqual(ours, trace);
  assert.equal(sent.tracestate, undefined);
  assert.equal(sent.baggage, undefined);
  const stored = (await traceOf(ours, 2))!;
  const server = stored.spans.find((s) => tag(s, 'span.kind') === 'server')!;
  assert.equal(parentOf(server), undefined, 'a root span');
});

test('a refused request is a server span too, a 4xx not marked an error; a 5xx is', { skip }, async () => {
  const trace = traceId();
  assert.equal(
    (await fetch(`${gw.url}/nowhere`, { headers: { traceparent: `00-${trace}-${spanId()}-01` } })).status,
    404,
  );
  const [span] = (await traceOf(trace, 1))!.spans;
  assert.equal(span.operationName, 'GET');
  assert.equal(tag(span, 'tollgate.error_code'), 'GW_ERR_NO_ROUTE');
  assert.equal(tag(span, 'otel.status_code'), undefined, 'a 4xx is not an error of the server');
  const failed = traceId();
  assert.equal(
    (await fetch(`${gw.url}/down/x`, { headers: { traceparent: `00-${failed}-${spanId()}-01` } })).status,
    502,
  );
  const server = (await traceOf(failed, 2))!.spans.find((s) => tag(s, 'span.kind') === 'server')!;
  assert.equal(tag(server, 'otel.status_code'), 'ERROR');
  assert.equal(tag(server, 'error.type'), 'GW_ERR_UPSTREAM_REFUSED');
});

test('sample_ratio 0 records nothing, names no trace in events, yet passes an unsampled context on; 1 records again', {
  skip,
}, async () => {
  gw.writeConfig({ ...config, tracing: { enabled: true, sample_ratio: 0 } });
  await eventually(async () => servingRatio() === 0, 5000);
  const since = Date.now();
  await fetch(`${gw.url}/api/unsampled`);
  const sent = String(up.seen.at(-1)!.headers.traceparent);
  assert.match(sent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'the context goes on, not sampled');
  const unsampled = sent.split('-')[1];
  gw.writeConfig(config);
  await eventually(async () => servingRatio() === 1, 5000);
  const trace = traceId();
  await fetch(`${gw.url}/api/sampled`, { headers: { traceparent: `00-${trace}-${spanId()}-01` } });
  assert.ok(await traceOf(trace, 2), 'recorded again');
  assert.equal(await traceOf(unsampled, 1, 1500), undefined, 'the unsampled trace never reached Jaeger');
  const [unsampledEvent, sampledEvent] = await eventsWhere(gw, (e) => e.service === 'api' && e.startMs >= since, 2);
  assert.equal(unsampledEvent.traceId, '', 'an event names only a trace that can be opened');
  assert.equal(sampledEvent.traceId, trace);
});

test("the traffic report's example traces are recorded traces: the slowest request and error of each hour", {
  skip,
}, async () => {
  const slow = traceId();
  await fetch(`${gw.url}/down/again`, { headers: { traceparent: `00-${traceId()}-${spanId()}-01` } });
  await fetch(`${gw.url}/api/example`, { headers: { traceparent: `00-${slow}-${spanId()}-01` } });
  const day = new Date().toISOString().slice(0, 10);
  const next = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  type Example = { kind: string; service: string; trace_id: string; status: number; bucket: string };
  const examples = await eventually(async () => {
    const res = await fetch(`${gw.adminUrl}/reports/traffic/traces?from=${day}&to=${next}`);
    const { traces } = (await res.json()) as { traces: Example[] };
    return traces.some((t) => t.service === 'down') && traces.some((t) => t.service === 'api') ? traces : undefined;
  }, 10_000);
  assert.ok(examples, 'examples of both services were kept');
  const error = examples.find((t) => t.service === 'down')!;
  assert.equal(error.kind, 'error');
  assert.equal(error.status, 502);
  assert.equal(examples[0].kind, 'error', 'errors first');
  for (const t of [error, examples.find((x) => x.service === 'api')!]) {
    const stored = await traceOf(t.trace_id, 1);
    assert.ok(stored, `${t.service}'s example ${t.trace_id} opens in Jaeger`);
    const server = stored.spans.find((s) => tag(s, 'span.kind') === 'server')!;
    assert.equal(tag(server, 'http.response.status_code'), t.status);
    assert.equal(tag(server, 'tollgate.service'), t.service);
  }
});
