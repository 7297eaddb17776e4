import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTraceState, type SpanContext, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { type RecordedSpan, SpanRecorder } from './recorded-span.ts';
import { BatchEncoder } from './span-encoder.ts';

const ended: ReadableSpan[] = [];
const processor = { onEnd: (span: ReadableSpan) => ended.push(span) } as unknown as SpanProcessor;
const resource = resourceFromAttributes({
  'service.name': 'tollgate',
  'service.version': '1.2.3',
  'host.name': 'gw-1',
  'deployment.environment.name': 'prod',
});
const scope = { name: 'tollgate', version: '1.2.3' };
const recorder = new SpanRecorder(resource, scope, processor);
const epochMs = Date.UTC(2026, 10, 27, 10, 0, 0);

// One encoder for every batch of the file, as the processor keeps one: each finish starts the next request afresh.
const encoder = new BatchEncoder(resource, scope);

function sameAsSdk(spans: RecordedSpan[], message: string) {
  const sdk = ProtobufTraceSerializer.serializeRequest(spans);
  assert.ok(sdk !== undefined);
  for (const span of spans) encoder.add(span);
  assert.equal(encoder.count, spans.length);
  assert.deepEqual(Buffer.from(encoder.finish()), Buffer.from(sdk), message);
  assert.equal(encoder.count, 0);
}

test("a batch of the gateway's spans encodes to the SDK serializer's bytes, byte for byte", () => {
  const remote: SpanContext = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
    isRemote: true,
    traceState: createTraceState('vendor=value,other=x'),
  };
  const server = recorder.start('GET /api/*', SpanKind.SERVER, remote, epochMs + 0.123456, {
    'http.request.method': 'GET',
    'url.scheme': 'http',
    'url.path': `/api/${'long-'.repeat(40)}`,
    'server.address': 'api.example.test',
    'network.protocol.version': '1.1',
    'client.address': '127.0.0.1',
    'http.route': '/api/*',
  });
  const attempt = recorder.start('GET', SpanKind.CLIENT, server.spanContext(), epochMs + 1.5, {
    'server.port': 9001,
    'http.request.resend_count': 1,
    'tollgate.target': 'http://127.0.0.1:9001',
  });
  attempt.setAttribute('http.response.status_code', 503);
  attempt.setAttribute('error.type', '503');
  attempt.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream said 503 ✗' });
  attempt.end(epochMs + 20.000001);
  server.setAttributes({ 'http.response.status_code': 200, 'tollgate.app': 'äpp-ünïcode' });
  server.setAttribute('tollgate.auth', 'passed');
  server.end(epochMs + 25.987654);
  const root = recorder.start('tcp cache', SpanKind.SERVER, undefined, epochMs, {
    'tollgate.stream.bytes_in': 2 ** 40 + 3,
    ratio: 0.25,
    negative: -5,
    flag: true,
    list: ['a', 'b'],
    huge: 2 ** 70,
  });
  root.end(epochMs + 3_600_000);
  sameAsSdk([attempt, server, root], 'the three spans');
  sameAsSdk([server], 'one span');
});

test('a batch the size of several exports, and an empty one, encode as the SDK encodes them', () => {
  const spans = Array.from({ length: 1500 }, (_, i) => {
    const span = recorder.start(`GET /r${i}/*`, SpanKind.SERVER, undefined, epochMs + i, {
      'http.request.method': 'GET',
      'url.path': `/r${i}/${'x'.repeat(i % 300)}`,
      'http.response.status_code': 200 + (i % 300),
    });
    span.end(epochMs + i + 0.5);
    return span;
  });
  sameAsSdk(spans, 'a request of ~800 KB: its length takes three bytes');
  sameAsSdk(spans.slice(0, 2), 'the next request starts afresh');
  sameAsSdk([], 'no spans');
});

test('any times, names and attribute values encode as the SDK encodes them (property)', () => {
  const value = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }),
    fc.boolean(),
  );
  fc.assert(
    fc.property(
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.double({ min: 0, max: 4e12, noNaN: true }),
      fc.double({ min: 0, max: 1e8, noNaN: true }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), value, { maxKeys: 30 }),
      fc.constantFrom(SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL),
      (name, startMs, lengthMs, attributes, kind) => {
        const span = recorder.start(name, kind, undefined, startMs, { ...attributes });
        span.end(startMs + lengthMs);
        sameAsSdk([span], JSON.stringify({ name, startMs, lengthMs }));
      },
    ),
    { numRuns: 300 },
  );
});
