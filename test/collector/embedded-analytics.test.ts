import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { EmbeddedEventSink } from '../../gateway/proxy/events/embedded.ts';
import { createEventMetrics } from '../../gateway/metrics.ts';
import { eventually } from '../helpers/gateway.ts';
import { sampleEvent } from '../../collector/aggregate/sample-event.fixture.ts';
import { startEmbeddedAnalytics } from '../../collector/embedded/index.ts';

/** Analytics over a fresh events directory, its reports mounted on a Fastify app; all closed after the test. */
async function analyticsOn(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-analytics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const register = new Registry();
  const analytics = await startEmbeddedAnalytics({ eventsDir: dir, pollIntervalMs: 10, register });
  t.after(() => analytics.close());
  const app = Fastify();
  analytics.registerRoutes(app);
  t.after(() => app.close());
  return { dir, register, analytics, app };
}

test('single-node analytics: events from the sink are counted and served by the reports API', async (t) => {
  const { dir, register, analytics, app } = await analyticsOn(t);

  const sink = await EmbeddedEventSink.open(
    dir,
    16 * 1024 * 1024,
    createEventMetrics(new Registry()),
    pino({ level: 'silent' }),
  );
  const startMs = Date.now() - 1000;
  // 20 HTTP/1.1 requests (3 of them 500s), then 5 gRPC calls (OK) and 5 h2 requests.
  const grpc = {
    protocol: 'grpc',
    grpcStatus: 0,
    grpcMethod: '/shop.Cart/Add',
    messagesIn: 1,
    messagesOut: 1,
  } as const;
  for (let i = 0; i < 30; i++) {
    const protocol = i < 20 ? {} : i < 25 ? grpc : ({ protocol: 'h2', tlsVersion: 'TLSv1.3' } as const);
    sink.emit(sampleEvent({ startMs, status: i < 3 ? 500 : 200, upstreamStatus: i < 3 ? 500 : 200, ...protocol }));
  }
  await sink.close(5000);
  assert.ok(await eventually(() => analytics.collector.stats.counted === 30, 5000), 'the collector caught up');

  const hour = new Date(Math.floor(startMs / 3_600_000) * 3_600_000);
  const from = hour.toISOString();
  const to = new Date(hour.getTime() + 3_600_000).toISOString();
  const traffic = await app.inject(`/reports/traffic?from=${from}&to=${to}&app=acme`);
  assert.equal(traffic.statusCode, 200);
  assert.deepEqual(
    traffic.json().rows.map((r: any) => [r.bucket, r.requests, r.status_5xx, r.protocols, r.grpc_statuses]),
    [[from, 30, 3, { 'http/1.1': 20, h2: 5, grpc: 5, websocket: 0, tcp: 0 }, { OK: 5 }]],
  );
  const http1 = await app.inject(`/reports/traffic?from=${from}&to=${to}&app=acme&protocol=http/1.1`);
  assert.deepEqual(
    http1.json().rows.map((r: any) => [r.requests, r.status_5xx]),
    [[20, 3]],
    'filtered: the 500s were all HTTP/1.1',
  );
  const ok = await app.inject(`/reports/traffic?from=${from}&to=${to}&grpc_status=OK`);
  assert.deepEqual(
    ok.json().rows.map((r: any) => [r.requests, r.status_5xx]),
    [[5, 0]],
  );
  const day = from.slice(0, 10);
  const qpd = await app.inject(`/billing/qpd?from=${day}&to=${day}`);
  assert.deepEqual(qpd.json().rows, [
    {
      date: day,
      app_id: 'acme',
      requests: 30,
      billable_requests: 27,
      final: false,
      http1_requests: 20,
      h2_requests: 5,
      grpc_requests: 5,
      websocket_requests: 0,
    },
  ]);
  const live = (await app.inject('/stats/live')).json();
  assert.deepEqual(live.today, [{ app_id: 'acme', service: 'api', requests: 30 }]);
  assert.match(await register.metrics(), /tollgate_collector_events_total\{result="counted"\} 30/);
});

test(
  'the collector runs on a worker thread; one that ' + 'dies is replaced and counts on exactly, nothing twice',
  async (t) => {
    const { dir, register, analytics, app } = await analyticsOn(t);
    assert.ok((analytics.collector.threadId ?? 0) > 0, 'not on the main thread');

    const sink = await EmbeddedEventSink.open(
      dir,
      16 * 1024 * 1024,
      createEventMetrics(new Registry()),
      pino({ level: 'silent' }),
    );
    t.after(() => sink.close(5000));
    const startMs = Date.now() - 1000;
    for (let i = 0; i < 30; i++) sink.emit(sampleEvent({ startMs }));
    assert.ok(await eventually(() => analytics.collector.stats.counted === 30, 5000), 'the first thread counted 30');

    const first = analytics.collector.threadId;
    analytics.collector.crash();
    for (let i = 0; i < 20; i++) sink.emit(sampleEvent({ startMs }));
    assert.ok(
      await eventually(
        () => analytics.collector.threadId !== undefined && analytics.collector.threadId !== first,
        5000,
      ),
      'a new thread',
    );
    assert.ok(
      await eventually(() => analytics.collector.stats.counted === 50, 5000),
      `50 counted in all (got ${analytics.collector.stats.counted})`,
    );
    assert.equal(analytics.collector.restarts, 1);

    const hour = new Date(Math.floor(startMs / 3_600_000) * 3_600_000);
    const to = new Date(hour.getTime() + 3_600_000).toISOString();
    const traffic = await app.inject(`/reports/traffic?from=${hour.toISOString()}&to=${to}&app=acme`);
    assert.deepEqual(
      traffic.json().rows.map((r: any) => r.requests),
      [50],
      'the store holds each event once',
    );
    assert.match(await register.metrics(), /tollgate_collector_thread_restarts_total 1/);
    assert.match(await register.metrics(), /tollgate_collector_events_total\{result="counted"\} 50/);
  },
);
