import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { EmbeddedEventSink } from '../../gateway/proxy/events/embedded.ts';
import { writeCheckpoint } from '../../shared/segment-log/checkpoint.ts';
import { SegmentLog } from '../../shared/segment-log/segment-log.ts';
import { createEventMetrics } from '../../gateway/metrics.ts';
import { eventually } from '../helpers/gateway.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { bucketStartMs } from '../../collector/aggregate/traffic.ts';
import { sampleEvent } from '../../collector/aggregate/sample-event.fixture.ts';
import { EmbeddedCollector } from '../../collector/embedded/collector.ts';
import { registerCollectorMetrics } from '../../collector/embedded/metrics.ts';
import { EmbeddedStore } from '../../collector/embedded/store.ts';

const HOUR_MS = 3_600_000;

/**
 * Stops `collector` before closing its `store`, in one after-hook: hooks run in order and one that throws skips the
 * rest, so a store closed under a running collector (or a failed rm) left the collector's loop, and with it the whole
 * test file, running for good.
 */
function stopsAfter(t: { after(fn: () => Promise<void>): void }, collector: EmbeddedCollector, store: EmbeddedStore) {
  t.after(async () => {
    await collector.stop();
    store.close();
  });
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-collector-'));
  // A collector still running when this hook comes (hooks run in order) may write into the directory as it goes.
  t.after(() => rm(dir, { recursive: true, force: true }).catch(() => undefined));
  return dir;
}

/** Writes events the way the gateway does: through the embedded sink into `<dir>/log`. */
async function emitAll(dir: string, events: AccessEvent[]): Promise<void> {
  const sink = await EmbeddedEventSink.open(
    dir,
    64 * 1024 * 1024,
    createEventMetrics(new Registry()),
    pino({ level: 'silent' }),
  );
  for (const e of events) sink.emit(e);
  await sink.close(5000);
}

/** Appends raw records (garbage) to `<dir>/log`, between two sink sessions. */
async function appendRaw(dir: string, records: Buffer[]): Promise<void> {
  const log = await SegmentLog.open(join(dir, 'log'));
  for (const r of records) assert.ok(log.append(r));
  await log.close();
}

function recent(n: number, over: Partial<AccessEvent> = {}): AccessEvent[] {
  return Array.from({ length: n }, (_, i) => sampleEvent({ startMs: Date.now() - 2000, totalUs: 1000 + i, ...over }));
}

function stored(store: EmbeddedStore, granularity: 'hour' | 'day', appId?: string): number {
  return store
    .trafficRows({ granularity, fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, appId })
    .reduce((s, r) => s + r.counters.requests, 0);
}

async function drain(collector: EmbeddedCollector): Promise<void> {
  while ((await collector.pollOnce()) > 0);
}

test('counts every event of the single and the worker logs once, dead-letters garbage and goes on', async (t) => {
  const dir = await tempDir(t);
  await emitAll(dir, recent(300));
  await appendRaw(dir, [Buffer.from([9, 1, 2, 3]), Buffer.from([1, 0, 0xff])]);
  await emitAll(dir, recent(200));
  await emitAll(join(dir, 'w0'), recent(50, { appId: 'beta' }));
  await emitAll(join(dir, 'w3'), recent(25, { appId: 'beta', service: 'search' }));
  const store = EmbeddedStore.open(join(dir, 'aggregates.sqlite'));
  const register = new Registry();
  const collector = new EmbeddedCollector({ eventsDir: dir, store, pollIntervalMs: 10, batchRecords: 64 });
  registerCollectorMetrics(register, collector);
  await collector.start();
  stopsAfter(t, collector, store);

  const done = await eventually(() => collector.stats.counted + collector.stats.deadLetters >= 577, 10_000);
  assert.ok(done, 'every record was consumed');
  await collector.stop();
  assert.equal(collector.stats.counted, 575);
  assert.equal(collector.stats.deadLetters, 2);
  assert.deepEqual(collector.stats.lagBytes, { log: 0, 'w0/log': 0, 'w3/log': 0 });
  assert.equal(stored(store, 'hour'), 575);
  assert.equal(stored(store, 'day'), 575);
  assert.equal(stored(store, 'hour', 'beta'), 75);
  assert.deepEqual(
    store
      .deadLetters()
      .map((l) => [l.source, l.reason, l.rawBytes])
      .sort(),
    [
      ['log', 'truncated', 3],
      ['log', 'unknown_version', 4],
    ],
  );
  const today = collector.live().today;
  assert.deepEqual(
    today.map((r) => [r.app_id, r.service, r.requests]),
    [
      ['acme', 'api', 500],
      ['beta', 'api', 50],
      ['beta', 'search', 25],
    ],
  );
  const metrics = await register.metrics();
  assert.match(metrics, /tollgate_collector_events_total\{result="counted"\} 575/);
  assert.match(metrics, /tollgate_collector_events_total\{result="dead_letter"\} 2/);
  assert.match(metrics, /tollgate_collector_consumer_lag\{topic="embedded",partition="w3\/log"\} 0/);
  assert.match(metrics, /tollgate_collector_batch_seconds_count \d+/);
});

test('a late event from 30 hours ago lands in its own hour and day', async (t) => {
  const dir = await tempDir(t);
  const lateMs = Date.now() - 30 * HOUR_MS;
  await emitAll(dir, [...recent(3), sampleEvent({ startMs: lateMs, appId: 'late' })]);
  const store = EmbeddedStore.open(':memory:');
  const collector = new EmbeddedCollector({ eventsDir: dir, store });
  stopsAfter(t, collector, store);
  await drain(collector);
  const lateHour = bucketStartMs('hour', lateMs);
  const rows = store.trafficRows({ granularity: 'hour', fromMs: lateHour, toMs: lateHour + HOUR_MS });
  assert.deepEqual(
    rows.map((r) => [r.appId, r.counters.requests]),
    [['late', 1]],
  );
  const lateDay = bucketStartMs('day', lateMs);
  const days = store.trafficRows({ granularity: 'day', fromMs: lateDay, toMs: lateDay + 86_400_000 });
  assert.deepEqual(
    days.map((r) => [r.appId, r.counters.requests]),
    [['late', 1]],
  );
  assert.ok(
    !collector.live().today.some((r) => r.app_id === 'late'),
    "yesterday's event is not in today's live counts",
  );
});

test('a restart after a crash between the store transaction and the log checkpoint counts nothing twice', async (t) => {
  const dir = await tempDir(t);
  const dbPath = join(dir, 'aggregates.sqlite');
  await emitAll(dir, recent(120));
  const first = EmbeddedStore.open(dbPath);
  const before = new EmbeddedCollector({ eventsDir: dir, store: first, batchRecords: 50 });
  await drain(before);
  await before.stop();
  first.close();
  // The checkpoint is written after the transaction; put it back as if the process died in between.
  await writeCheckpoint(join(dir, 'log'), 0);

  await emitAll(dir, recent(7, { appId: 'after' }));
  const store = EmbeddedStore.open(dbPath);
  const after = new EmbeddedCollector({ eventsDir: dir, store, batchRecords: 50 });
  stopsAfter(t, after, store);
  await drain(after);
  assert.equal(after.stats.counted, 7, 'only the new events were read');
  assert.equal(stored(store, 'hour'), 127);
  assert.equal(stored(store, 'day', 'after'), 7);
});

test('stop waits for the batch in flight: what was counted is exactly what is stored', async (t) => {
  const dir = await tempDir(t);
  await emitAll(dir, recent(20_000));
  const store = EmbeddedStore.open(join(dir, 'aggregates.sqlite'));
  const collector = new EmbeddedCollector({ eventsDir: dir, store, batchRecords: 100 });
  stopsAfter(t, collector, store);
  await collector.start();
  await eventually(() => collector.stats.batches > 2, 5000, 1);
  await collector.stop();
  const counted = collector.stats.counted;
  assert.ok(counted > 0 && counted < 20_000, `stopped part way (${counted})`);
  assert.equal(stored(store, 'hour'), counted);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(stored(store, 'hour'), counted, 'nothing is written after stop');
});

test(
  'passes that keep failing are logged when they start ' + 'failing and when they succeed again, not at every poll',
  async (t) => {
    const dir = await tempDir(t);
    // A file where the events directory should be: every pass fails to list it (ENOTDIR).
    const eventsDir = join(dir, 'events');
    await writeFile(eventsDir, 'not a directory');
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const logger = {
      warn: (fields: object, msg: string) => {
        lines.push({ level: 'warn', msg, fields: fields as Record<string, unknown> });
      },
      info: (fields: object, msg: string) => {
        lines.push({ level: 'info', msg, fields: fields as Record<string, unknown> });
      },
    };
    const store = EmbeddedStore.open(':memory:');
    const collector = new EmbeddedCollector({ eventsDir, store, pollIntervalMs: 10, logger });
    await collector.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg]),
        [['warn', 'collector: a pass over the event logs failing; further errors are counted until it answers again']],
      );
      assert.match(String(lines[0].fields.err), /ENOTDIR/);
      await rm(eventsDir);
      await emitAll(eventsDir, recent(5));
      assert.ok(await eventually(async () => lines.length === 2));
      assert.equal(lines[1].level, 'info');
      assert.equal(lines[1].msg, 'collector: a pass over the event logs answers again');
      assert.ok(Number(lines[1].fields.errors) >= 10, JSON.stringify(lines[1].fields));
      assert.ok(await eventually(async () => stored(store, 'day') === 5));
    } finally {
      await collector.stop();
      store.close();
    }
  },
);

test('an idle collector waits for a write instead of polling, and counts the write at once', async (t) => {
  const dir = await tempDir(t);
  await emitAll(dir, recent(3));
  const store = EmbeddedStore.open(':memory:');
  const collector = new EmbeddedCollector({ eventsDir: dir, store, pollIntervalMs: 10 });
  let passes = 0;
  const pollOnce = collector.pollOnce.bind(collector);
  collector.pollOnce = () => {
    passes++;
    return pollOnce();
  };
  await collector.start();
  stopsAfter(t, collector, store);
  assert.ok(await eventually(() => collector.stats.counted === 3));
  // The batch's checkpoint is fsynced after it is counted, then come IDLE_PASSES empty passes at 10 ms: under a
  // loaded disk that outlasted a fixed 300 ms wait. Waiting for passes to stop (200 ms without one) never does.
  let seen = -1;
  const quiet = () => {
    const still = passes === seen;
    seen = passes;
    return still;
  };
  assert.ok(await eventually(quiet, 5000, 200), 'passes never stopped');
  const asleep = passes;
  await new Promise((r) => setTimeout(r, 1000));
  // Polling every 10 ms would be ~100 passes; the pass every 5 s while idle is at most one.
  assert.ok(passes - asleep <= 1, `${passes - asleep} passes in 1 s with nothing to read`);
  const written = performance.now();
  await emitAll(dir, recent(4, { appId: 'woken' }));
  assert.ok(await eventually(() => collector.stats.counted === 7, 2000, 5), 'the write woke the collector');
  assert.ok(performance.now() - written < 1000, `counted ${Math.round(performance.now() - written)} ms after`);
  assert.equal(stored(store, 'day', 'woken'), 4);
  // A new worker's log, made while the collector waits, is found too.
  await new Promise((r) => setTimeout(r, 300));
  await emitAll(join(dir, 'w1'), recent(2, { appId: 'worker' }));
  assert.ok(await eventually(() => stored(store, 'day', 'worker') === 2, 7000, 20));
});

test('a collector that cannot watch its events directory keeps polling', async (t) => {
  const dir = await tempDir(t);
  const store = EmbeddedStore.open(':memory:');
  // Not there yet: nothing to watch, so passes go on at the poll interval and find the log when it appears.
  const eventsDir = join(dir, 'later');
  const collector = new EmbeddedCollector({ eventsDir, store, pollIntervalMs: 10 });
  await collector.start();
  stopsAfter(t, collector, store);
  await new Promise((r) => setTimeout(r, 400));
  await emitAll(eventsDir, recent(2));
  assert.ok(await eventually(() => stored(store, 'day') === 2, 1000, 5));
});
