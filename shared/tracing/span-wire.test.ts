import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { SpanReader, toWire } from './span-wire.ts';

/** What the OTLP exporters read of a span, as plain data (TraceState by its serialization). */
function exported(s: ReadableSpan) {
  const ctx = s.spanContext();
  const plainContext = (c: typeof ctx) => ({ ...c, traceState: c.traceState?.serialize() });
  return {
    context: plainContext(ctx),
    parent: s.parentSpanContext && plainContext(s.parentSpanContext),
    name: s.name,
    kind: s.kind,
    startTime: s.startTime,
    endTime: s.endTime,
    duration: s.duration,
    ended: s.ended,
    status: s.status,
    attributes: s.attributes,
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events,
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) => ({ ...l, context: plainContext(l.context) })),
    droppedLinksCount: s.droppedLinksCount,
    resource: s.resource.attributes,
    scope: s.instrumentationScope,
  };
}

test('a span crosses to the exporter thread whole: every field the OTLP exporters read, one resource and scope', () => {
  const memory = new InMemorySpanExporter();
  const resource = resourceFromAttributes({ 'service.name': 'wire-test', 'host.name': 'h' });
  const provider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  const tracer = provider.getTracer('tollgate', '1.2.3');
  const remote = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
    isRemote: true,
    traceState: createTraceState('vendor=a,other=b'),
  };
  const server = tracer.startSpan(
    'GET /api/*',
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'server.port': 8080, ok: true } },
    trace.setSpanContext(ROOT_CONTEXT, remote),
  );
  server.addEvent('retry', { attempt: 1 });
  server.addLink({ context: remote, attributes: { why: 'test' } });
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 503' });
  const client = tracer.startSpan('GET', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, server));
  client.end();
  server.end();
  const spans = memory.getFinishedSpans();
  assert.equal(spans.length, 2);

  const threadResource = resourceFromAttributes(resource.attributes);
  const reader = new SpanReader(threadResource);
  // Through structured clone, as postMessage sends it.
  const read = spans.map((s) => reader.read(structuredClone(toWire(s))));
  assert.deepEqual(read.map(exported), spans.map(exported));
  assert.equal(read[0].resource, threadResource, "the thread's resource");
  assert.equal(read[0].resource, read[1].resource, 'one resource object: the serializer groups by identity');
  assert.equal(read[0].instrumentationScope, read[1].instrumentationScope, 'one scope object, likewise');
  assert.equal(read[1].spanContext().traceState?.serialize(), 'vendor=a,other=b', 'tracestate, as a TraceState again');
});
