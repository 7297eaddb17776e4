import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { movable, ThreadExporter } from './thread-exporter.ts';

test('batches go out from the thread over OTLP/HTTP; a thread that dies is replaced by the next batch', async (t) => {
  const bodies: Buffer[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.after(() => receiver.close());
  const { port } = receiver.address() as { port: number };
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` };
  const exporter = await ThreadExporter.start(env, () => {});
  t.after(() => exporter.shutdown());

  const memory = new InMemorySpanExporter();
  const tracer = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'thread-test' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  }).getTracer('t');
  const send = (name: string) => {
    tracer.startSpan(name).end();
    const spans = memory.getFinishedSpans().slice(-1);
    return new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  };

  assert.equal((await send('first-batch')).code, ExportResultCode.SUCCESS);
  assert.equal(bodies.length, 1);
  assert.ok(bodies[0].includes('first-batch'), 'the span, in the protobuf body');
  assert.ok(bodies[0].includes('thread-test'), "the spans' resource with it");

  await exporter.crashThread();
  assert.equal((await send('after-crash')).code, ExportResultCode.SUCCESS, 'a new thread sent it');
  assert.ok(bodies[1].includes('after-crash'));
});

test('an unknown OTLP protocol fails the start with the reason', async () => {
  await assert.rejects(
    ThreadExporter.start({ OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' }, () => {}),
    /OTEL_EXPORTER_OTLP_PROTOCOL=carrier-pigeon: expected grpc, http\/protobuf or http\/json/,
  );
});

test('bytes to move to the thread: a whole buffer as it is, a view into a larger one (a pooled Buffer) copied', () => {
  const whole = new Uint8Array([1, 2, 3]);
  assert.equal(movable(whole), whole);
  const pooled = Buffer.from('a-view');
  assert.ok(pooled.buffer.byteLength > pooled.length, 'Buffer.from of a short string is a view into the pool');
  const neighbour = Buffer.from('neighbour');
  const moved = movable(pooled);
  assert.notEqual(moved.buffer, pooled.buffer);
  structuredClone(moved, { transfer: [moved.buffer as ArrayBuffer] });
  assert.equal(moved.byteLength, 0, 'the copy was moved');
  assert.equal(pooled.toString(), 'a-view', 'the pool was not');
  assert.equal(neighbour.toString(), 'neighbour');
});
