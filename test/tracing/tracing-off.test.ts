// Trace context with tracing off (no OTLP endpoint anywhere): a trusted caller's traceparent, tracestate and baggage
// go upstream untouched and its sampled trace id is in the access event; a route that does not trust them sends
// none of them on and records no trace id. No receiver is needed: nothing is exported.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventsWhere } from '../helpers/events.ts';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
let up: TestUpstream;

before(async () => {
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key];
  up = await startUpstream('up');
  gw = await startGateway({
    // Off, and not trusting callers unless a route says so.
    tracing: { trust_incoming: false },
    services: [
      service('edge', [up.url], [{ paths: ['/edge'] }]),
      service('inner', [up.url], [{ paths: ['/inner'], trust_trace_context: true }]),
    ],
  });
});
after(async () => {
  await gw?.close();
  await up?.close();
});

const context = (flags: string) => {
  const traceId = randomBytes(16).toString('hex');
  return {
    traceId,
    headers: {
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`,
      tracestate: 'vendor=opaque',
      baggage: 'tenant=acme',
    },
  };
};

async function send(path: string, headers: Record<string, string>) {
  const res = await fetch(`${gw.url}${path}`, { headers });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  return up.seen.at(-1)!.headers;
}

test("a trusted caller's context goes upstream untouched, its sampled trace id in the access event", async () => {
  const sampled = context('01');
  const seen = await send('/inner/a', sampled.headers);
  assert.equal(seen.traceparent, sampled.headers.traceparent);
  assert.equal(seen.tracestate, 'vendor=opaque');
  assert.equal(seen.baggage, 'tenant=acme');
  const [event] = await eventsWhere(gw, (e) => e.traceId === sampled.traceId);
  assert.equal(event?.service, 'inner');

  const unsampled = context('00');
  await send('/inner/b', unsampled.headers);
  const events = await eventsWhere(gw, (e) => e.service === 'inner', 2);
  assert.equal(events[1].traceId, '', 'a trace its caller did not record is named nowhere');
});

test('an untrusted route sends none of the caller context on and records no trace id, with tracing off', async () => {
  const caller = context('01');
  const seen = await send('/edge/a', caller.headers);
  assert.equal(seen.traceparent, undefined);
  assert.equal(seen.tracestate, undefined);
  assert.equal(seen.baggage, undefined);
  const [event] = await eventsWhere(gw, (e) => e.service === 'edge');
  assert.equal(event.traceId, '');
});
