// The live counters' backlog against a real (private) redis-server, without
// Kafka: what waits while Redis is away is applied once, in order, and a
// redelivered overlap whose mark could not be read is cut off exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { LiveCounters, type LiveEvent } from '../../collector/cluster/live-counters.ts';
import { readLiveStats } from '../../collector/cluster/live-stats.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { waitFor } from './services.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const TOPIC = 'events';

/** Offsets from..to of one partition, app `a` and services s0..s(services-1) in turn, all now. */
function batch(from: number, to: number, services = 2): LiveEvent[] {
  const out: LiveEvent[] = [];
  for (let o = from; o <= to; o++)
    out.push({ offset: o, event: { startMs: Date.now(), appId: 'a', service: `s${o % services}` } });
  return out;
}

async function todayTotal(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await redis.ping();
    const stats = await readLiveStats(redis, prefix);
    assert.equal(stats.status, 'ok');
    return stats.today.reduce((sum, r) => sum + r.requests, 0);
  } finally {
    redis.disconnect();
  }
}

test('a restarted collector whose first batches wait for Redis adds a redelivered overlap once, not twice', {
  timeout: 30_000,
}, async (t) => {
  const server = await startPrivateRedis(t);
  if (!server) return;
  const prefix = 'live:';
  // The collector before the crash: applied offsets 0–99 of partition 0, committed only up to 49.
  const first = new LiveCounters({ url: server.url, prefix, logger });
  assert.ok(await first.connect(2000));
  assert.equal(await first.apply(TOPIC, 0, batch(0, 99)), true);
  await first.close();
  // Its successor starts while Redis hangs, so it cannot read the mark; Kafka redelivers from 50.
  server.freeze();
  const next = new LiveCounters({ url: server.url, prefix, logger, retryIntervalMs: 100, maxUncertainEvents: 1000 });
  try {
    assert.equal(await next.connect(300), false);
    assert.equal(await next.apply(TOPIC, 0, batch(50, 149)), false);
    assert.equal(await next.apply(TOPIC, 0, batch(150, 249)), false);
    assert.deepEqual(next.pending.events, 200);
    server.thaw();
    await waitFor('the backlog applied', async () => next.pending.events === 0, 10_000);
    assert.equal(await todayTotal(server.url, prefix), 250, 'offsets 0–249, each once');
    assert.deepEqual(next.dropped, { cap: 0, conflict: 0 });
  } finally {
    server.thaw();
    await next.close();
  }
});

test('a full backlog keeps adding to the cells it holds, drops new cells and counts their requests', {
  timeout: 30_000,
}, async (t) => {
  const server = await startPrivateRedis(t);
  if (!server) return;
  const prefix = 'live:';
  const live = new LiveCounters({ url: server.url, prefix, logger, retryIntervalMs: 100, maxPendingCells: 0 });
  try {
    assert.ok(await live.connect(2000));
    assert.equal(await live.apply(TOPIC, 0, batch(0, 9)), true);
    await server.stop();
    // The outage noticed before the next batch (the next test has a batch that comes first).
    await waitFor('the client sees Redis gone', async () => !live.up, 5000);
    // The first batch of the outage is held whole; the second adds to its cells (s0, s1) and brings new ones (s2, s3),
    // which are refused.
    assert.equal(await live.apply(TOPIC, 0, batch(10, 19)), false);
    assert.equal(await live.apply(TOPIC, 0, batch(20, 39, 4)), false);
    // s2 and s3 had 10 requests: each refused once for its day cell and once for its hour cell.
    assert.equal(live.dropped.cap, 20);
    await server.start();
    await waitFor('the backlog applied', async () => live.pending.events === 0, 10_000);
    // Redis came back empty: what is there is the backlog, short by the refused cells.
    assert.equal(await todayTotal(server.url, prefix), 20);
  } finally {
    await live.close();
  }
});

test('a batch that races the outage is sealed by its failed attempt; the entry after it is held to the same bound', {
  timeout: 30_000,
}, async (t) => {
  const server = await startPrivateRedis(t);
  if (!server) return;
  const prefix = 'live:';
  const live = new LiveCounters({
    url: server.url,
    prefix,
    logger,
    retryIntervalMs: 100,
    commandTimeoutMs: 200,
    maxPendingCells: 0,
  });
  try {
    assert.ok(await live.connect(2000));
    assert.equal(await live.apply(TOPIC, 0, batch(0, 9)), true);
    // Redis hangs while the connection still looks ready: the next batch is sent, times out and is sealed.
    server.freeze();
    assert.equal(await live.apply(TOPIC, 0, batch(10, 19)), false);
    // The one after cannot be merged into the sealed entry. Its cells are all new to the entry it starts,
    // and with the backlog at its bound they are refused: 20 requests, each for its day and its hour cell.
    assert.equal(await live.apply(TOPIC, 0, batch(20, 39, 4)), false);
    assert.equal(live.dropped.cap, 40);
    assert.equal(live.pending.events, 30);
    server.thaw();
    await waitFor('the backlog applied', async () => live.pending.events === 0, 10_000);
    // The sealed batch landed once (its retry found the mark past it, or applied it), the refused one not at all.
    assert.equal(await todayTotal(server.url, prefix), 20);
  } finally {
    server.thaw();
    await live.close();
  }
});
