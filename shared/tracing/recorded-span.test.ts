import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTraceState, type SpanContext, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { hrTimeOf, randomIds, randomTraceparent, SpanRecorder } from './recorded-span.ts';
import { wallClock } from '../wall-clock.ts';

function recorder() {
  const ended: ReadableSpan[] = [];
  const processor = { onEnd: (span: ReadableSpan) => ended.push(span) } as unknown as SpanProcessor;
  return { ended, recorder: new SpanRecorder(resourceFromAttributes({}), { name: 't' }, processor) };
}

test('a root span starts a trace; a child keeps the parent trace id and trace state, with ids of its own', () => {
  const { recorder: r } = recorder();
  const root = r.start('root', SpanKind.SERVER, undefined, Date.now(), {});
  const rc = root.spanContext();
  assert.match(rc.traceId, /^[0-9a-f]{32}$/);
  assert.match(rc.spanId, /^[0-9a-f]{16}$/);
  assert.equal(rc.traceFlags, 1);
  assert.equal(root.parentSpanContext, undefined);
  const remote: SpanContext = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
    isRemote: true,
    traceState: createTraceState('k=v'),
  };
  const child = r.start('child', SpanKind.CLIENT, remote, Date.now(), {});
  assert.equal(child.spanContext().traceId, remote.traceId);
  assert.notEqual(child.spanContext().spanId, remote.spanId);
  assert.equal(child.spanContext().traceState?.serialize(), 'k=v');
  assert.equal(child.parentSpanContext, remote);
  const ids = new Set(
    Array.from({ length: 1000 }, () => r.start('x', SpanKind.INTERNAL, undefined, 0, {}).spanContext().spanId),
  );
  assert.equal(ids.size, 1000, 'span ids do not repeat');
});

test('random ids: 32 and 16 lowercase hex digits, never repeated, across many refills of their text and pool', () => {
  const seen = new Set<string>();
  const digits = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const { traceId, spanId } = randomIds();
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.match(spanId, /^[0-9a-f]{16}$/);
    assert.ok(!seen.has(traceId) && !seen.has(spanId), `id ${i} repeats one drawn before`);
    seen.add(traceId);
    seen.add(spanId);
    for (const c of traceId + spanId) digits.set(c, (digits.get(c) ?? 0) + 1);
  }
  // 960,000 digits, 60,000 of each expected: a pool read wrong (zeros, or the same bytes twice) would skew this.
  assert.equal(digits.size, 16);
  for (const [digit, count] of digits) assert.ok(Math.abs(count - 60_000) < 3_000, `digit ${digit}: ${count}`);
});

test("random traceparents: an unsampled root's, version 00, flags 00, ids fresh in each", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5_000; i++) {
    const traceparent = randomTraceparent();
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(traceparent) ?? assert.fail(traceparent);
    assert.ok(!seen.has(m[1]) && !seen.has(m[2]), `traceparent ${i} repeats an id drawn before`);
    seen.add(m[1]).add(m[2]);
  }
});

test('times: epoch milliseconds to [seconds, nanoseconds], the end as the SDK reads a TimeInput, the duration', () => {
  assert.deepEqual(hrTimeOf(1_700_000_000_123.5), [1_700_000_000, 123_500_000]);
  const { recorder: r, ended } = recorder();
  const start = Date.UTC(2026, 10, 27);
  for (const [end, ms] of [
    [start + 1500, 1500],
    [new Date(start + 20), 20],
    [[start / 1000 + 2, 5_000_000], 2005],
  ] as const) {
    const span = r.start('t', SpanKind.SERVER, undefined, start, {});
    span.end(end as never);
    assert.equal(span.endTime[0] * 1000 + span.endTime[1] / 1e6 - start, ms);
    assert.deepEqual(span.duration, [Math.floor(ms / 1000), (ms % 1000) * 1e6]);
  }
  const relative = r.start('t', SpanKind.SERVER, undefined, wallClock.at(10), {});
  relative.end(20);
  assert.deepEqual(relative.duration, [0, 10_000_000], 'a small number is a performance.now() reading');
  assert.equal(ended.length, 4);
});

test('a step of the system clock while a span is open moves its start and end alike: the duration stays exact', (t) => {
  const { recorder: r } = recorder();
  const open = r.start('t', SpanKind.SERVER, undefined, wallClock.now(), {});
  const relative = r.start('t', SpanKind.SERVER, undefined, wallClock.at(performance.now()), {});
  const readingAtStep = performance.now();
  const stepMs = 3_600_000;
  const realNow = Date.now;
  t.mock.method(Date, 'now', () => realNow() + stepMs);
  assert.ok(wallClock.check() > stepMs - 1000, 'the clock took the step');
  t.after(() => {
    t.mock.restoreAll();
    wallClock.check();
  });
  open.end();
  relative.end(readingAtStep);
  const ms = (time: readonly [number, number]) => time[0] * 1000 + time[1] / 1e6;
  for (const span of [open, relative]) {
    assert.ok(ms(span.duration) < 1000, `duration ${ms(span.duration)} ms, not the hour of the step`);
    assert.ok(Math.abs(ms(span.endTime) - ms(span.startTime) - ms(span.duration)) < 0.001);
  }
  const after = r.start('t', SpanKind.SERVER, undefined, wallClock.now(), {});
  assert.ok(
    ms(after.startTime) - ms(open.startTime) > stepMs - 1000,
    'a span started after the step is on the new clock',
  );
});

test('a span takes attributes, status and name until it ends, reaches the processor once, then records no more', () => {
  const { recorder: r, ended } = recorder();
  const span = r.start('GET', SpanKind.SERVER, undefined, Date.now(), { a: 1 });
  assert.equal(span.isRecording(), true);
  span.setAttribute('b', 'two').setAttributes({ c: true });
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'no' });
  span.updateName('GET /x');
  span.end();
  span.end();
  span.setAttribute('late', 1);
  span.setStatus({ code: SpanStatusCode.OK });
  assert.equal(span.isRecording(), false);
  assert.equal(ended.length, 1);
  assert.deepEqual(span.attributes, { a: 1, b: 'two', c: true });
  assert.deepEqual(span.status, { code: SpanStatusCode.ERROR, message: 'no' });
  assert.equal(span.name, 'GET /x');
});
