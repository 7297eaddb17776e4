import assert from 'node:assert/strict';
import test from 'node:test';
import type { SpanContext } from '@opentelemetry/api';
import type { RequestContext } from '../context.ts';
import type { Target } from '../upstream/target.ts';
import { endServerSpan, redactQuery, remoteParent, serverSpan, startAttempt } from './spans.ts';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/;

/** A request as the calls read it, with tracing on under a rule that samples nothing. */
function request(headers: Record<string, string>, trusted = true): RequestContext {
  const tracing = {
    sampled: (parent: SpanContext | undefined) => parent !== undefined && (parent.traceFlags & 1) === 1,
    startSpan: () => assert.fail('an unsampled request starts no span'),
  };
  return {
    span: undefined,
    snapshot: { runtime: { tracing }, config: { tracing: { trust_incoming: trusted } } },
    route: { config: { trust_trace_context: undefined, paths: ['/api'] } },
    headers,
    upstreamHeaders: { host: 'api.example.test', ...headers },
  } as unknown as RequestContext;
}

const sentUpstream = (ctx: RequestContext) => {
  startAttempt(ctx, {} as Target, 0);
  return ctx.upstreamHeaders;
};

test('an unsampled request with no parent sends a new trace upstream, flags 00, and records nothing', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const ctx = request({});
    const sent = sentUpstream(ctx).traceparent as string;
    const [, traceId, spanId] = TRACEPARENT.exec(sent) ?? assert.fail(`not a traceparent: ${sent}`);
    const span = serverSpan(ctx)!;
    assert.equal(span.isRecording(), false);
    const sc = span.spanContext();
    assert.deepEqual([sc.traceId, sc.spanId, sc.traceFlags, sc.traceState], [traceId, spanId, 0, undefined]);
    assert.equal(endServerSpan(ctx, 200), '', 'no trace id for the event: nothing was recorded');
    assert.ok(!seen.has(traceId) && !seen.has(spanId), 'ids are drawn afresh');
    seen.add(traceId).add(spanId);
  }
});

test("an unsampled caller's trace goes on: its trace id and tracestate, a span id of the gateway's, flags 00", () => {
  const caller = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
  const sent = sentUpstream(request({ traceparent: caller, tracestate: 'vendor=1' }));
  const [, traceId, spanId] = TRACEPARENT.exec(sent.traceparent as string) ?? assert.fail(String(sent.traceparent));
  assert.equal(traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.notEqual(spanId, 'b7ad6b7169203331');
  assert.equal(sent.tracestate, 'vendor=1');
  assert.equal(remoteParent(sent.traceparent, sent.tracestate)?.traceState?.get('vendor'), '1');
});

test('an untrusted caller gets a trace of its own upstream, and its tracestate goes no further', () => {
  const caller = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
  const sent = sentUpstream(request({ traceparent: caller, tracestate: 'evil=1' }, false));
  const [, traceId] = TRACEPARENT.exec(sent.traceparent as string) ?? assert.fail(String(sent.traceparent));
  assert.notEqual(traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(sent.tracestate, undefined);
});

test("url.full: the values of the conventions' signature keys are REDACTED, other parts of the query kept", () => {
  assert.equal(
    redactQuery('/b/o?X-Goog-Signature=abc&x=1&Signature=s%3D&AWSAccessKeyId=AK&sig=q'),
    '/b/o?X-Goog-Signature=REDACTED&x=1&Signature=REDACTED&AWSAccessKeyId=REDACTED&sig=REDACTED',
  );
  const plain = '/search?q=signature&design=1';
  assert.equal(redactQuery(plain), plain, 'keys are matched whole');
  assert.equal(redactQuery('/p?mysig=1'), '/p?mysig=1');
});
