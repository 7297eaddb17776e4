import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { decode } from '../../../shared/access-event-codec.ts';
import { PLAIN_HTTP1 } from '../../../shared/access-event.ts';
import { eventIdTimeMs } from '../../../shared/access-event-id.ts';
import { RequestContext } from '../context.ts';
import type { CompiledRoute, Snapshot } from '../snapshot.ts';
import type { Target } from '../upstream/target.ts';
import { HTTP2_DEFAULTS } from '../listeners/http2-defaults.ts';
import {
  accessEvent,
  cutRecord,
  interimIfDue,
  KEEP_CUT_AFTER_MS,
  requestRecord,
  tailRecord,
  traceIdOf,
} from './access-event.ts';
import { wallClock } from '../../../shared/wall-clock.ts';

test(
  'traceIdOf takes the trace id of a sampled W3C traceparent and refuses unsampled, uppercase, all-zero, short or ' +
    'malformed ones',
  () => {
    const id = '4bf92f3577b34da6a3ce929d0e0e4736';
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-01`), id);
    assert.equal(traceIdOf(`00-${id.toUpperCase()}-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(`00-${'0'.repeat(31)}1-00f067aa0ba902b7-01`), `${'0'.repeat(31)}1`);
    assert.equal(traceIdOf(`00-${id.slice(0, 31)}g-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7`), '');
    assert.equal(traceIdOf(`00_${id}-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-00`), '', 'not sampled: no trace to open');
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-03`), id, 'other flags beside sampled');
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-0b`), id);
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-0a`), '');
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-0z`), '');
    assert.equal(traceIdOf(undefined), '');
    assert.equal(traceIdOf([`00-${id}-00f067aa0ba902b7-01`]), '');
  },
);

function finishedRequest(over: Partial<RequestContext> = {}, headers: Record<string, string> = {}): RequestContext {
  const req = new IncomingMessage(new Socket());
  req.method = 'POST';
  req.headers = headers;
  const snapshot = {
    config: { proxy: { max_body_bytes: 0 }, tracing: { trust_incoming: true }, events: { interim_ms: 100 } },
    runtime: { tracing: undefined },
  } as unknown as Snapshot;
  const listener = { name: 'proxy', listen: '127.0.0.1:0', http2: HTTP2_DEFAULTS };
  const ctx = new RequestContext(req, new ServerResponse(req), snapshot, 1000.25, true, listener);
  return Object.assign(ctx, {
    route: { name: 'orders#0', service: { name: 'orders' }, config: {} } as CompiledRoute,
    appId: 'acme',
    clientIp: '203.0.113.7',
    target: { id: 'http://10.0.3.17:8080' } as Target,
    upstreamStatus: 201,
    upstreamMs: 7.4,
    bytesIn: 321,
    bytesOut: 4821,
    ...over,
  });
}

test('requestRecord writes a finished request as its access event, with a new id and no event built', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const event = decode(Buffer.from(requestRecord(finishedRequest({}, { traceparent }), 201, 0.0123456, 'gw-1')));
  const { id, ...fields } = event;
  assert.ok(eventIdTimeMs(id) !== undefined, `${id} is a UUIDv7`);
  assert.deepEqual(fields, {
    startMs: Math.round(wallClock.at(1000.25)),
    node: 'gw-1',
    appId: 'acme',
    service: 'orders',
    route: 'orders#0',
    method: 'POST',
    status: 201,
    upstreamStatus: 201,
    totalUs: 12346,
    upstreamUs: 7400,
    gatewayUs: 4946,
    bytesIn: 321,
    bytesOut: 4821,
    clientIp: '203.0.113.7',
    target: 'http://10.0.3.17:8080',
    errorClass: 'none',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    ...PLAIN_HTTP1,
  });
});

test('a refused, unrouted request is recorded with its error class and no service, route or target', () => {
  const ctx = finishedRequest({ route: undefined, target: undefined, upstreamStatus: 0, upstreamMs: 0, appId: '' });
  ctx.errorCode = 'GW_ERR_RATE_LIMITED';
  const event = accessEvent(ctx, 429, 0.0005, 'gw-1');
  assert.equal(event.errorClass, 'rate_limited');
  assert.deepEqual([event.service, event.route, event.target, event.appId], ['', '', '', '']);
  assert.deepEqual([event.status, event.upstreamStatus, event.upstreamUs, event.gatewayUs], [429, 0, 0, 500]);
});

test('the upstream time never exceeds the total, so the gateway share is never negative', () => {
  const event = accessEvent(finishedRequest({ upstreamMs: 50 }), 200, 0.01, 'gw-1');
  assert.deepEqual([event.totalUs, event.upstreamUs, event.gatewayUs], [10000, 10000, 0]);
});

test(
  'a request past events.interim_ms gets interim events until its final one is written, then none: the final one ' +
    'carried the rest',
  () => {
    const ctx = finishedRequest();
    Object.assign(ctx.req, { complete: true });
    const sent: Buffer[] = [];
    const cut: Buffer[] = [];
    const events = {
      append: () => assert.fail('interim events go through interim()'),
      interim(key: object, encode: (node: string) => Buffer, cutOne: (node: string) => Buffer) {
        assert.equal(key, ctx);
        sent.push(Buffer.from(encode('gw-1')));
        cut.push(Buffer.from(cutOne('gw-1')));
      },
      keep: () => assert.fail('interim_ms (100 ms) comes before KEEP_CUT_AFTER_MS'),
      final: () => assert.fail('a request has no final() here'),
    };
    interimIfDue(ctx, events, 1050);
    assert.equal(sent.length, 0, 'not due yet');
    interimIfDue(ctx, events, 1101);
    assert.deepEqual(
      sent.map((b) => [decode(b).interim, decode(b).bytesIn, decode(b).bytesOut]),
      [[true, 321, 4821]],
    );
    // Should the gateway end now: the request alone at its start, no answer begun (500, the gateway's failure).
    const ifCut = decode(cut[0]);
    assert.deepEqual(
      [ifCut.interim, ifCut.startMs, ifCut.totalUs, ifCut.bytesIn, ifCut.bytesOut, ifCut.status, ifCut.errorClass],
      [false, Math.round(wallClock.at(1000.25)), 100750, 0, 0, 500, 'internal'],
    );
    assert.deepEqual([ifCut.closeCode, ifCut.closeReason, ifCut.service], [0, 'gateway_ended', 'orders']);
    ctx.bytesOut = 5000;
    ctx.eventSeconds = 0.2; // the response is ending: its final event is in the log
    interimIfDue(ctx, events, 1400);
    assert.equal(sent.length, 1, 'no interim event after the final one, which would count its last bytes twice');
  },
);

test('before its first interim event, a request open KEEP_CUT_AFTER_MS has its cut final event kept, once', () => {
  const ctx = finishedRequest();
  ctx.snapshot.config.events.interim_ms = 60_000;
  const kept: Buffer[] = [];
  const events = {
    append: () => assert.fail('no event yet'),
    interim: () => assert.fail('not due before interim_ms'),
    keep(key: object, cut: (node: string) => Buffer) {
      assert.equal(key, ctx);
      kept.push(Buffer.from(cut('gw-1')));
    },
    final: () => assert.fail('a request has no final() here'),
  };
  interimIfDue(ctx, events, 1000.25 + KEEP_CUT_AFTER_MS - 1);
  assert.equal(kept.length, 0, 'not open long enough');
  interimIfDue(ctx, events, 1000.25 + KEEP_CUT_AFTER_MS);
  interimIfDue(ctx, events, 1000.25 + 2 * KEEP_CUT_AFTER_MS);
  assert.equal(kept.length, 1, 'kept once, until an interim event replaces it');
  assert.equal(ctx.cutKept, true, "the request's end settles it");
  // No interim event carried its traffic: the cut one carries all of it so far.
  const ifCut = decode(kept[0]);
  assert.deepEqual(
    [ifCut.interim, ifCut.totalUs, ifCut.bytesIn, ifCut.bytesOut, ifCut.closeReason],
    [false, KEEP_CUT_AFTER_MS * 1000, 321, 4821, 'gateway_ended'],
  );
});

test('cutRecord: a WebSocket is cut with 101 and 1006, an answer begun keeps its status and is not an error', () => {
  const ws = decode(Buffer.from(cutRecord(finishedRequest({ websocket: true }), 'gw-1', 61000.25)));
  assert.deepEqual(
    [ws.status, ws.closeCode, ws.closeReason, ws.errorClass, ws.totalUs, ws.protocol],
    [101, 1006, 'gateway_ended', 'none', 60_000_000, 'websocket'],
  );
  const ctx = finishedRequest();
  ctx.res.writeHead(200);
  const answering = decode(Buffer.from(cutRecord(ctx, 'gw-1', 2000.25)));
  assert.deepEqual([answering.status, answering.closeCode, answering.errorClass], [200, 0, 'none']);
});

test('tailRecord: what moved after the last interim event, placed at the end; nothing without one or a tail', () => {
  const ctx = finishedRequest();
  Object.assign(ctx.req, { complete: true });
  assert.equal(tailRecord(ctx, 'gw-1', 2000), undefined, 'no interim event: the final one carries it all');
  ctx.reported = { atMs: 1500, bytesIn: 321, bytesOut: 4000, messagesIn: 0, messagesOut: 0 };
  const tail = decode(Buffer.from(tailRecord(ctx, 'gw-1', 2000)!));
  assert.deepEqual(
    [tail.interim, tail.startMs, tail.bytesIn, tail.bytesOut],
    [true, Math.round(wallClock.at(2000)), 0, 821],
  );
  const final = accessEvent(ctx, 201, 1, 'gw-1');
  assert.deepEqual([final.interim, final.bytesIn, final.bytesOut], [false, 0, 0]);
  assert.equal(tailRecord(ctx, 'gw-1', 2100), undefined, 'nothing moved since');
});
