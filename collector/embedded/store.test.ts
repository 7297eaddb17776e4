import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyCounters, mergeCounters, protocolCounts, TrafficAggregator } from '../aggregate/traffic.ts';
import { sampleEvent, SAMPLE_START_MS } from '../aggregate/sample-event.fixture.ts';
import { EmbeddedStore, MAX_DEAD_LETTER_BYTES, StalePositionError, type StoreBatch } from './store.ts';
import type { TraceExample } from '../aggregate/trace-examples.ts';

const HOUR_MS = 3_600_000;

async function tempDb(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'aggregates.db');
}

function batchOf(events: number, from: number, startMs = SAMPLE_START_MS): StoreBatch {
  const agg = new TrafficAggregator();
  for (let i = 0; i < events; i++) agg.add(sampleEvent({ startMs, totalUs: 1000 * (i + 1) }));
  return { source: 'log', from, next: from + events * 100, deltas: agg.drain(), deadLetters: [] };
}

function mergeAll(counters: ReturnType<typeof emptyCounters>[]): ReturnType<typeof emptyCounters> {
  return counters.reduce(mergeCounters, emptyCounters());
}

function hourRequests(store: EmbeddedStore, startMs = SAMPLE_START_MS): number {
  const rows = store.trafficRows({ granularity: 'hour', fromMs: startMs - HOUR_MS, toMs: startMs + HOUR_MS });
  return rows.reduce((sum, r) => sum + r.counters.requests, 0);
}

test('upserts add counters and histograms to the stored row', async (t) => {
  const store = EmbeddedStore.open(await tempDb(t));
  t.after(() => store.close());
  store.applyBatch(batchOf(3, 0));
  store.applyBatch(batchOf(2, 300));
  const [hour] = store.trafficRows({ granularity: 'hour', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
  assert.equal(hour.counters.requests, 5);
  assert.equal(hour.counters.billable, 5);
  assert.equal(hour.counters.bytesOut, 500);
  assert.deepEqual(hour.counters.latency.slice(0, 4), [0, 2, 2, 1], '1 ms twice, 2 ms twice, 3 ms once');
  assert.equal(store.positionOf('log'), 500);
  assert.deepEqual(store.dailyAppRows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }), [
    { dayStartMs: Date.UTC(2025, 2, 10), appId: 'acme', requests: 5, billable: 5, protocols: [0, 0, 0, 0, 0] },
  ]);
});

test('a crash before the transaction leaves nothing, and the batch read again counts once', async (t) => {
  const path = await tempDb(t);
  const batch = batchOf(4, 0);
  EmbeddedStore.open(path).close(); // the collector read the batch and died before storing it
  const store = EmbeddedStore.open(path);
  t.after(() => store.close());
  assert.equal(store.positionOf('log'), undefined, 'resumes from the start');
  store.applyBatch(batch);
  assert.equal(hourRequests(store), 4);
});

test('a crash after the transaction resumes past the batch, and a replay of it is refused', async (t) => {
  const path = await tempDb(t);
  const first = EmbeddedStore.open(path);
  first.applyBatch(batchOf(4, 0));
  first.close(); // crashed before the segment log's checkpoint was written
  const store = EmbeddedStore.open(path);
  t.after(() => store.close());
  assert.equal(store.positionOf('log'), 400, 'resumes after the stored batch, whatever the checkpoint says');
  assert.throws(() => store.applyBatch(batchOf(4, 0)), StalePositionError);
  assert.equal(hourRequests(store), 4, 'counted once');
  store.applyBatch(batchOf(1, 400));
  assert.equal(hourRequests(store), 5);
});

test('a batch that fails half way leaves neither its counts nor its position', async (t) => {
  const store = EmbeddedStore.open(await tempDb(t));
  t.after(() => store.close());
  store.applyBatch(batchOf(1, 0));
  const broken = batchOf(2, 100, SAMPLE_START_MS + 5 * HOUR_MS);
  broken.deltas.push({
    ...broken.deltas[0],
    appId: 'other',
    counters: { ...broken.deltas[0].counters, requests: null as unknown as number },
  });
  assert.throws(() => store.applyBatch(broken), /NOT NULL/);
  assert.equal(
    hourRequests(store, SAMPLE_START_MS + 5 * HOUR_MS),
    0,
    'the rows written before the failure were rolled back',
  );
  assert.equal(store.positionOf('log'), 100);
  store.applyBatch(batchOf(2, 100, SAMPLE_START_MS + 5 * HOUR_MS));
  assert.equal(hourRequests(store, SAMPLE_START_MS + 5 * HOUR_MS), 2);
});

test('dead letters keep a bounded prefix of the raw bytes, once per record', async (t) => {
  const store = EmbeddedStore.open(await tempDb(t));
  t.after(() => store.close());
  const raw = Buffer.alloc(MAX_DEAD_LETTER_BYTES + 100, 7);
  store.applyBatch({
    source: 'log',
    from: 0,
    next: 10,
    deltas: [],
    deadLetters: [{ source: 'log', position: 0, reason: 'unknown_version', raw }],
  });
  const [letter] = store.deadLetters();
  assert.equal(letter.reason, 'unknown_version');
  assert.equal(letter.raw.length, MAX_DEAD_LETTER_BYTES);
  assert.equal(letter.rawBytes, raw.length);
  assert.equal(store.positionOf('log'), 10);
});

/** Starts the applying child, SIGKILLs it once it reported passing `afterPosition` (plus a little). */
async function killWhileApplying(path: string, afterPosition: number, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'crash-store.fixture.ts'), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let timer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const at = [...chunk.matchAll(/at (\d+)/g)].map((m) => Number(m[1]));
    if (at.some((p) => p >= afterPosition)) timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  const [, signal] = (await new Promise((resolve) => child.on('exit', (...args) => resolve(args)))) as [
    number | null,
    string | null,
  ];
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', 'the child ran until killed');
}

test('a store killed with SIGKILL at any moment holds exactly the records up to its stored position', async (t) => {
  const path = await tempDb(t);
  let position = 0;
  for (const delayMs of [0, 3, 11, 23]) {
    await killWhileApplying(path, position + 200, delayMs);
    const store = EmbeddedStore.open(path);
    const stored = store.positionOf('crash') ?? 0;
    assert.ok(stored > position, 'the restarted child went on from the stored position');
    position = stored;
    for (const granularity of ['hour', 'day'] as const) {
      const rows = store.trafficRows({ granularity, fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
      assert.equal(
        rows.reduce((sum, r) => sum + r.counters.requests, 0),
        stored,
        `${granularity} counts = stored position`,
      );
      assert.equal(
        rows.reduce((sum, r) => sum + r.counters.latency[3], 0),
        stored,
        `${granularity} histograms = stored position`,
      );
    }
    store.close();
  }
});

test('a store made before protocols is upgraded at open: its rows read as HTTP/1.1, out of filters', async (t) => {
  const path = await tempDb(t);
  const { DatabaseSync } = await import('node:sqlite');
  const old = new DatabaseSync(path);
  for (const table of ['traffic_hourly', 'traffic_daily']) {
    // The first release's table, with its indexes and a row.
    old.exec(`CREATE TABLE ${table} (app_id TEXT NOT NULL, service TEXT NOT NULL, bucket_ms INTEGER NOT NULL,
      requests INTEGER NOT NULL, status_2xx INTEGER NOT NULL, status_3xx INTEGER NOT NULL, status_4xx INTEGER NOT NULL,
      status_5xx INTEGER NOT NULL, billable INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL,
      rejections TEXT NOT NULL, latency TEXT NOT NULL, PRIMARY KEY (app_id, service, bucket_ms)) WITHOUT ROWID;
      CREATE INDEX ${table}_app_bucket ON ${table} (app_id, bucket_ms);
      CREATE INDEX ${table}_bucket ON ${table} (bucket_ms);`);
    const size = table === 'traffic_hourly' ? HOUR_MS : 24 * HOUR_MS;
    const bucketMs = Math.floor(SAMPLE_START_MS / size) * size;
    old.exec(`INSERT INTO ${table} VALUES ('acme', 'api', ${bucketMs}, 7, 7, 0, 0, 0, 7, 0, 0, '[]', '[]')`);
  }
  old.close();
  const store = EmbeddedStore.open(path);
  t.after(() => store.close());
  const agg = new TrafficAggregator();
  agg.add(sampleEvent({ protocol: 'grpc', grpcStatus: 14 }));
  agg.add(sampleEvent({ protocol: 'h2', tlsVersion: 'TLSv1.3' }));
  store.applyBatch({ source: 'log', from: 0, next: 200, deltas: agg.drain(), deadLetters: [] });
  const all = { granularity: 'hour', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER } as const;
  const sum = mergeAll(store.trafficRows(all).map((r) => r.counters));
  assert.equal(sum.requests, 9);
  assert.deepEqual(protocolCounts(sum), { 'http/1.1': 7, h2: 1, grpc: 1, websocket: 0, tcp: 0 });
  assert.equal(sum.grpcStatuses[14], 1);
  const requests = (q: object) => store.trafficRows({ ...all, ...q }).reduce((n, r) => n + r.counters.requests, 0);
  assert.equal(requests({ protocol: 'grpc' }), 1);
  assert.equal(requests({ grpcStatus: 14 }), 1);
  assert.equal(requests({ protocol: 'http/1.1' }), 0, 'rows counted before the split are in no filtered answer');
  const daily = store.dailyAppRows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
  assert.deepEqual(
    daily.map((r) => r.requests),
    [9],
  );
  const reopened = EmbeddedStore.open(path); // a second open finds the new shape and changes nothing
  reopened.close();
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  const indexes = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traffic_hourly'")
    .all();
  assert.deepEqual(indexes.map((r) => r.name).sort(), ['traffic_hourly_app_bucket', 'traffic_hourly_bucket']);
});

test('rows are split by protocol and gRPC status, and reports filter by either', async (t) => {
  const store = EmbeddedStore.open(await tempDb(t));
  t.after(() => store.close());
  const agg = new TrafficAggregator();
  for (const [protocol, grpcStatus, n] of [
    ['http/1.1', -1, 3],
    ['h2', -1, 2],
    ['grpc', 0, 4],
    ['grpc', 14, 1],
    ['grpc', 99, 1], // beyond 16: UNKNOWN
  ] as const) {
    for (let i = 0; i < n; i++) agg.add(sampleEvent({ protocol, grpcStatus, totalUs: 1000 * (grpcStatus + 2) }));
  }
  store.applyBatch({ source: 'log', from: 0, next: 1, deltas: agg.drain(), deadLetters: [] });
  const all = { granularity: 'hour', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER } as const;
  const filtered = (q: object) => mergeAll(store.trafficRows({ ...all, ...q }).map((r) => r.counters));
  assert.equal(filtered({}).requests, 11);
  assert.equal(filtered({ protocol: 'http/1.1' }).requests, 3);
  assert.equal(filtered({ protocol: 'h2' }).requests, 2);
  assert.equal(filtered({ protocol: 'grpc' }).requests, 6);
  const unavailable = filtered({ grpcStatus: 14 });
  assert.equal(unavailable.requests, 1);
  assert.equal(
    unavailable.latency.reduce((a, b) => a + b, 0),
    1,
    'the histogram is of those calls only',
  );
  assert.equal(filtered({ protocol: 'grpc', grpcStatus: 2 }).requests, 1);
  assert.equal(filtered({ grpcStatus: 5 }).requests, 0);
  const day = (q: object) => store.dailyAppRows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, ...q });
  assert.deepEqual(
    day({ grpcStatus: 0 }).map((r) => [r.requests, r.billable]),
    [[4, 4]],
  );
  assert.deepEqual(
    day({ protocol: 'h2' }).map((r) => r.requests),
    [2],
  );
});

test('example traces: a slower one replaces the one kept for its hour, kind, app and service', (t) => {
  const store = EmbeddedStore.open(':memory:');
  t.after(() => store.close());
  const hour = Math.floor(SAMPLE_START_MS / HOUR_MS) * HOUR_MS;
  const example = (traceId: string, totalUs: number, over: Partial<TraceExample> = {}): TraceExample => ({
    bucketStartMs: hour,
    appId: 'acme',
    service: 'api',
    kind: 'slowest',
    traceId,
    route: 'r',
    status: 200,
    startMs: SAMPLE_START_MS,
    totalUs,
    ...over,
  });
  const apply = (from: number, examples: TraceExample[]) =>
    store.applyBatch({ source: 'log', from, next: from + 1, deltas: [], deadLetters: [], examples });
  apply(0, [example('a', 500), example('e1', 100, { kind: 'error', status: 503 })]);
  apply(1, [example('b', 900, { route: 'slow' }), example('e2', 50, { kind: 'error', status: 502 })]);
  apply(2, [
    example('c', 700),
    example('beta', 1, { appId: 'beta' }),
    example('next', 1, { bucketStartMs: hour + HOUR_MS }),
  ]);
  const all = { fromMs: hour, toMs: hour + 2 * HOUR_MS, limit: 10 };
  assert.deepEqual(
    store.traceExamples(all).map((e) => [e.kind, e.appId, e.bucketStartMs - hour, e.traceId, e.route, e.totalUs]),
    [
      ['error', 'acme', 0, 'e1', 'r', 100],
      ['slowest', 'acme', 0, 'b', 'slow', 900],
      ['slowest', 'beta', 0, 'beta', 'r', 1],
      ['slowest', 'acme', HOUR_MS, 'next', 'r', 1],
    ],
  );
  assert.deepEqual(
    store.traceExamples({ ...all, appId: 'beta' }).map((e) => e.traceId),
    ['beta'],
  );
  assert.deepEqual(
    store.traceExamples({ ...all, fromMs: hour + 1 }).map((e) => e.traceId),
    ['next'],
    'an hour is in the window when its start is',
  );
  assert.deepEqual(
    store.traceExamples({ ...all, limit: 2 }).map((e) => e.traceId),
    ['e1', 'b'],
  );
});
