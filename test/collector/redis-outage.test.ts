// Redis stopped for real mid-test (a private redis-server, SIGKILLed and
// restarted empty; the shared one is left alone) under the cluster collector
// and the reports API: live stats turn degraded at once with the reason, the
// reports keep coming from ClickHouse with exact numbers, and the live
// counters resume when Redis is back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ClusterCollector } from '../../collector/cluster/collector.ts';
import { LiveCounters } from '../../collector/cluster/live-counters.ts';
import { ClickHouseReportSource } from '../../collector/cluster/report-source.ts';
import { registerReportRoutes } from '../../collector/reports/routes.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { encode } from '../../shared/access-event-codec.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { makeEvents } from './events.ts';
import { committedOffsets, produce, skipWithoutServices, waitFor, withScratch, type Scratch } from './services.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const DAY_MS = 86_400_000;
const PARTITIONS = 2;

interface Row { app_id: string; service: string; requests: number }

/** Today's requests per (app, service), as /stats/live lists them. */
function today(events: readonly AccessEvent[], nowMs: number): Row[] {
  const day = Math.floor(nowMs / DAY_MS);
  const counts = new Map<string, Row>();
  for (const e of events) {
    if (Math.floor(e.startMs / DAY_MS) !== day) continue;
    const key = JSON.stringify([e.appId, e.service]);
    const row = counts.get(key) ?? { app_id: e.appId, service: e.service, requests: 0 };
    row.requests++;
    counts.set(key, row);
  }
  return [...counts.values()].sort((a, b) => a.app_id.localeCompare(b.app_id) || a.service.localeCompare(b.service));
}

/** Produces the events round-robin over the partitions and waits until the collector committed all of them. */
async function deliver(s: Scratch, events: readonly AccessEvent[], produced: number[]): Promise<void> {
  const records = events.map((e) => {
    const partition = (produced[0] + produced[1]) % PARTITIONS;
    produced[partition]++;
    return { partition, value: encode(e) };
  });
  await produce(s.brokers, s.topic, records);
  await waitFor('every offset committed', async () => {
    const committed = await committedOffsets(s.brokers, s.groupId, s.topic);
    return produced.every((n, p) => committed.get(p) === n);
  });
}

async function get(app: FastifyInstance, url: string): Promise<{ body: any; ms: number }> {
  const startedMs = performance.now();
  const res = await app.inject(url);
  const ms = performance.now() - startedMs;
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return { body: res.json(), ms };
}

/** Sum of requests over /reports/traffic by day from yesterday to tomorrow (the events span the last 5 hours). */
async function reportedRequests(app: FastifyInstance, nowMs: number): Promise<number> {
  const dayStart = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const from = new Date(dayStart - DAY_MS).toISOString();
  const to = new Date(dayStart + DAY_MS).toISOString();
  const { body } = await get(app, `/reports/traffic?from=${from}&to=${to}&granularity=day`);
  return body.rows.reduce((sum: number, r: { requests: number }) => sum + r.requests, 0);
}

test('Redis killed mid-stream: live stats answer degraded at once, reports stay exact from ClickHouse, live counters resume when Redis is back', {
  skip: skipWithoutServices, timeout: 90_000,
}, async (t) => {
  const redisServer = await startPrivateRedis(t);
  if (!redisServer) return;
  await withScratch(PARTITIONS, async (s) => {
    const prefix = `tollgate:test:${randomBytes(6).toString('hex')}:live:`;
    const live = new LiveCounters({ url: redisServer.url, prefix, logger });
    assert.ok(await live.connect(2000));
    const collector = new ClusterCollector({
      brokers: s.brokers, topic: s.topic, groupId: s.groupId, clickhouse: s.db, logger,
      batchMaxEvents: 200, batchMaxWaitMs: 50, retryInitialDelayMs: 50, retryMaxDelayMs: 500, lagIntervalMs: 200, liveCounters: live,
    });
    // The reports API's own connection, as tollgate-collector / the admin server hold one.
    const reader = new Redis(redisServer.url, { commandTimeout: 500, maxRetriesPerRequest: null, retryStrategy: () => 100 });
    reader.on('error', () => {});
    const app = Fastify();
    registerReportRoutes(app, new ClickHouseReportSource({ clickhouse: s.db, redis: reader, livePrefix: prefix }));
    await app.ready();
    await collector.start((error) => assert.fail(`collector failed: ${error.message}`));
    const produced = [0, 0];
    try {
      const nowMs = Date.now();
      const before = makeEvents(600, nowMs);
      await deliver(s, before, produced);
      const ok = await get(app, '/stats/live');
      assert.equal(ok.body.status, 'ok');
      assert.deepEqual(ok.body.today, today(before, nowMs));
      assert.equal(await reportedRequests(app, nowMs), 600);

      await redisServer.stop();
      const during = makeEvents(400, nowMs + 1);
      await deliver(s, during, produced);
      assert.ok(collector.stats.redisErrors > 0, 'the batches after the kill should have failed to reach Redis');
      assert.equal(live.up, false);
      const degraded = await get(app, '/stats/live');
      assert.ok(degraded.ms < 600, `answered in ${degraded.ms.toFixed(0)} ms, not held up by the dead Redis`);
      assert.equal(degraded.body.status, 'degraded');
      assert.match(degraded.body.reason, /^live counters unavailable: /);
      assert.equal(degraded.body.qps, null);
      assert.equal(await reportedRequests(app, nowMs), 1000, 'ClickHouse counted the events Redis missed');

      await redisServer.start();
      await waitFor('the reports API reconnected to Redis', async () => (await get(app, '/stats/live')).body.status === 'ok', 10_000);
      const after = makeEvents(300, nowMs + 2);
      await deliver(s, after, produced);
      const resumed = await get(app, '/stats/live');
      assert.equal(resumed.body.status, 'ok');
      assert.equal(live.up, true);
      // Live counters are best-effort: Redis came back empty (no persistence), so the
      // 600 before the kill are gone with it, and the 400 during the outage were skipped,
      // not retried. Only what arrived after the return is counted, exactly once.
      assert.deepEqual(resumed.body.today, today(after, nowMs));
      assert.equal(await reportedRequests(app, nowMs), 1300, 'reports count every event once');
    } finally {
      await collector.stop();
      await live.close();
      await app.close();
      reader.disconnect();
    }
  });
});
