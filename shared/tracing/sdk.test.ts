import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SpanContext, SpanKind } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { samplingRuleFromEnv, startTracingSdk } from './sdk.ts';

const warnings: string[] = [];
const warn = (m: string) => warnings.push(m);

test('OTEL_TRACES_SAMPLER names one of six rules; an unknown name or ratio is warned about', () => {
  const rule = (sampler?: string, arg?: string) =>
    samplingRuleFromEnv({ OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: arg }, warn);
  assert.deepEqual(rule(), { parentBased: true, ratio: 1 });
  assert.deepEqual(rule('always_off'), { parentBased: false, ratio: 0 });
  assert.deepEqual(rule('traceidratio', '0.25'), { parentBased: false, ratio: 0.25 });
  assert.deepEqual(rule('parentbased_traceidratio', '0.1'), { parentBased: true, ratio: 0.1 });
  assert.deepEqual(rule('parentbased_always_off'), { parentBased: true, ratio: 0 });
  assert.deepEqual(rule('parentbased_traceidratio', '2'), { parentBased: true, ratio: 1 });
  assert.deepEqual(rule('jaeger_remote'), { parentBased: true, ratio: 1 });
  assert.equal(warnings.length, 2);
});

test("the gateway's own decision: a parent's flag when parent-based, else the ratio", async () => {
  const none: SpanExporter = {
    export: (_s, done) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: async () => {},
  };
  const sdk = await startTracingSdk({ env: {}, maxQueueSpans: 8, sampleRatio: 0, version: 't', warn, exporter: none });
  const parent = (flags: number): SpanContext => ({
    traceId: '1'.repeat(32),
    spanId: '2'.repeat(16),
    traceFlags: flags,
  });
  assert.equal(sdk.sampled(undefined), false, 'ratio 0: no root is sampled');
  assert.equal(sdk.sampled(parent(1)), true, "a sampled caller's trace is recorded");
  assert.equal(sdk.sampled(parent(0)), false);
  sdk.setSampleRatio(1);
  assert.equal(sdk.sampled(undefined), true);
  assert.equal(sdk.sampled(parent(0)), false, 'parent-based still');
  sdk.setSampleRatio(0.5);
  let n = 0;
  for (let i = 0; i < 10_000; i++) if (sdk.sampled(undefined)) n++;
  assert.ok(n > 4500 && n < 5500, `about half sampled: ${n}`);
  await sdk.shutdown(100);
});

test('stopping while the backend refuses the last batch: the spans count as failed and shutdown resolves', async () => {
  const refused: SpanExporter = {
    export: (_s, done) => done({ code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED') }),
    shutdown: async () => {},
  };
  const sdk = await startTracingSdk({
    env: {},
    maxQueueSpans: 8,
    sampleRatio: 1,
    version: 't',
    warn,
    exporter: refused,
  });
  sdk.startSpan('last', SpanKind.SERVER, undefined, Date.now(), {}).end();
  await sdk.shutdown(1000);
  assert.equal(sdk.counts.failed, 1);
});
