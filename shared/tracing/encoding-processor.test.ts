import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { EncodingProcessor } from './encoding-processor.ts';
import { ExportQueue } from './export-queue.ts';
import type { SerializedBatch } from './otlp-exporter.ts';
import { type RecordedSpan, SpanRecorder } from './recorded-span.ts';
import type { SpanCounts } from './sdk.ts';
import { BatchEncoder } from './span-encoder.ts';

const resource = resourceFromAttributes({ 'service.name': 'tollgate' });
const scope = { name: 'tollgate', version: '1' };

function setUp(options: {
  maxQueue: number;
  batchSize: number;
  delayMs: number;
  maxBytes?: number;
  encodeEvery?: number;
}) {
  const sent: { batch: SerializedBatch; done: (result: ExportResult) => void }[] = [];
  const counts: SpanCounts = { exported: 0, dropped: 0, failed: 0 };
  const queue = new ExportQueue(options.maxQueue, counts);
  const processor = new EncodingProcessor(
    new BatchEncoder(resource, scope),
    (batch, done) => sent.push({ batch, done }),
    { maxBytes: 1 << 20, ...options },
    queue,
  );
  const recorder = new SpanRecorder(resource, scope, processor);
  const ended: RecordedSpan[] = [];
  const span = (name: string, path = '/') => {
    const s = recorder.start(name, SpanKind.SERVER, undefined, Date.now(), {
      'http.request.method': 'GET',
      'url.path': path,
    });
    s.end();
    ended.push(s);
    return s;
  };
  return { sent, queue, counts, processor, span, ended };
}

const ok = { code: ExportResultCode.SUCCESS };

test('a batch goes out when it holds batchSize spans, as the bytes the SDK would send for them', () => {
  const { sent, queue, counts, span, ended } = setUp({ maxQueue: 100, batchSize: 3, delayMs: 60_000 });
  span('a');
  span('b');
  assert.equal(sent.length, 0, 'two spans wait, encoded');
  span('c');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].batch.count, 3);
  const sdk = ProtobufTraceSerializer.serializeRequest(ended);
  assert.deepEqual(Buffer.from(sent[0].batch.bytes), Buffer.from(sdk!));
  assert.equal(queue.pending, 3, 'pending until the backend answers');
  sent[0].done(ok);
  assert.equal(queue.pending, 0);
  assert.equal(counts.exported, 3);
  span('d');
  span('e');
  span('f');
  assert.deepEqual(
    Buffer.from(sent[1].batch.bytes),
    Buffer.from(ProtobufTraceSerializer.serializeRequest(ended.slice(3))!),
  );
  sent[1].done({ code: ExportResultCode.FAILED, error: new Error('503') });
  assert.equal(counts.failed, 3);
});

test('a request goes out at maxBytes, short of a batch: receivers limit the size they take', () => {
  const options = { maxQueue: 100, batchSize: 512, delayMs: 60_000, maxBytes: 10_000, encodeEvery: 1 };
  const { sent, span, ended } = setUp(options);
  span('a', `/${'x'.repeat(4000)}`);
  span('b', `/${'x'.repeat(4000)}`);
  assert.equal(sent.length, 0, '8 KB so far');
  span('c', `/${'x'.repeat(4000)}`);
  assert.equal(sent.length, 1, 'past 10,000 bytes');
  assert.equal(sent[0].batch.count, 3);
  assert.deepEqual(Buffer.from(sent[0].batch.bytes), Buffer.from(ProtobufTraceSerializer.serializeRequest(ended)!));
  assert.ok(sent[0].batch.bytes.length > 10_000);
});

test('spans are encoded 32 at a time, each request still closed at maxBytes: nothing goes out before the 32nd', () => {
  const { sent, span, ended } = setUp({ maxQueue: 100, batchSize: 512, delayMs: 60_000, maxBytes: 10_000 });
  for (let i = 0; i < 31; i++) span(`s${i}`, `/${'x'.repeat(4000)}`);
  assert.equal(sent.length, 0, '31 spans held, ~124 KB, none encoded yet');
  span('s31', `/${'x'.repeat(4000)}`);
  assert.deepEqual(
    sent.map((s) => s.batch.count),
    Array(10).fill(3),
    'encoded in one go: a request of three past each 10,000 bytes, two spans left in the next',
  );
  for (const [i, { batch }] of sent.entries())
    assert.deepEqual(
      Buffer.from(batch.bytes),
      Buffer.from(ProtobufTraceSerializer.serializeRequest(ended.slice(3 * i, 3 * i + 3))!),
    );
});

test('a batch that does not fill goes out delayMs after its first span', async () => {
  const { sent, span } = setUp({ maxQueue: 100, batchSize: 512, delayMs: 30 });
  span('lonely');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(sent.length, 0);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sent.length, 1);
  assert.equal(sent[0].batch.count, 1);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sent.length, 1, 'nothing more to send, nothing sent');
});

test('spans past maxQueue (encoded or being exported) are dropped and counted; unsampled spans are ignored', () => {
  const { sent, queue, counts, span, processor } = setUp({ maxQueue: 4, batchSize: 2, delayMs: 60_000 });
  for (const name of ['1', '2', '3', '4', '5', '6']) span(name);
  assert.equal(sent.length, 2, 'two batches out, neither answered');
  assert.equal(counts.dropped, 2);
  assert.equal(queue.pending, 4);
  sent[0].done(ok);
  span('7');
  assert.equal(counts.dropped, 2, 'room again once the backend took a batch');
  assert.equal(queue.pending, 3);
  processor.onEnd({ spanContext: () => ({ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 0 }) } as never);
  assert.equal(queue.pending, 3);
});

test('forceFlush sends what is encoded and waits for every answer', async () => {
  const { sent, span, processor, counts } = setUp({ maxQueue: 100, batchSize: 512, delayMs: 60_000 });
  span('a');
  let flushed = false;
  const flush = processor.forceFlush().then(() => (flushed = true));
  assert.equal(sent.length, 1, 'sent at once');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(flushed, false, 'not answered yet');
  sent[0].done(ok);
  await flush;
  assert.equal(counts.exported, 1);
  await processor.shutdown();
  assert.equal(sent.length, 1, 'nothing left to send');
});
