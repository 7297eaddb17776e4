// Analytics issue: "Collector: at least 100,000 events/s end to end (Kafka →
// ClickHouse + Redis) on one core, with events/s and CPU-µs per event printed."
//
// Untimed set-up: N realistic encoded access events (lz4, as the gateway's
// sink sends them) on a fresh topic, a fresh migrated ClickHouse database, a
// fresh consumer group and Redis prefix. Timed: the real cluster collector
// (collector/cluster/main.ts as its own process, pinned to one CPU with
// taskset when there is one) from its "collector started" line until every
// event is in traffic_hourly, traffic_daily, access_events and the Redis day
// counters. CPU is the collector process's user + system time over the same
// span (/proc/<pid>/stat).
//
// Settings: BENCH_COLLECTOR_EVENTS (default 1,000,000), BENCH_COLLECTOR_PARTITIONS (4),
// BENCH_COLLECTOR_PROF=DIR writes a --cpu-prof profile of the collector there.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Admin, Producer, ProduceAcks } from '@platformatic/kafka';
import { Redis } from 'ioredis';
import type { AccessEvent } from '../../../shared/access-event.ts';
import { encode } from '../../../shared/access-event-codec.ts';
import { EventIdGenerator } from '../../../shared/access-event-id.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../../collector/clickhouse/http-client.ts';
import { migrate } from '../../../collector/clickhouse/migrate.ts';
import { dayKey } from '../../../collector/cluster/live-counters.ts';
import { sampleEvents } from '../events/sample-events.ts';
import { onPath } from '../procs.ts';
import type { Check } from '../checks.ts';
import { spawnChild, stopChild } from './child.ts';
import { treeCpuUs } from '../proc-tree.ts';
import { clickhouseUrl, kafkaBrokers, passMiss, redisUrl, skipWithout, sleep } from './services.ts';

const TARGET_EVENTS_PER_S = 100_000;
const MAIN = fileURLToPath(new URL('../../../collector/cluster/main.ts', import.meta.url));
const NODE = process.execPath;

export interface CollectorBenchResult {
  events: number;
  partitions: number;
  pinnedCpu: number | undefined;
  startupMs: number;
  elapsedMs: number;
  eventsPerS: number;
  cpuUsPerEvent: number;
  /** Collector CPU / wall time: 1.0 = one core fully used. */
  coreShare: number;
  pass: boolean;
}

/** N events shaped like sample-events.ts, with fresh ids and start times over the last 30 minutes (inside the lateness
 * window). */
function* recentEvents(count: number): Generator<AccessEvent> {
  const pool = sampleEvents(Math.min(count, 50_000), 7);
  const ids = new EventIdGenerator();
  const endMs = Date.now() - 60_000;
  const spanMs = 30 * 60_000;
  for (let i = 0; i < count; i++) {
    yield { ...pool[i % pool.length], id: ids.next(), startMs: endMs - spanMs + Math.floor((i * spanMs) / count) };
  }
}

async function produceEvents(topic: string, count: number, partitions: number): Promise<number> {
  const producer = new Producer({
    clientId: 'tollgate-bench-analytics',
    bootstrapBrokers: kafkaBrokers,
    acks: ProduceAcks.LEADER,
    compression: 'lz4',
  });
  const batchEvents = 2000;
  const inFlight = new Set<Promise<unknown>>();
  let batch: Buffer[] = [];
  let bytes = 0;
  let partition = 0;
  const flush = async () => {
    const messages = batch.map((value) => ({ topic, partition, value }));
    partition = (partition + 1) % partitions;
    batch = [];
    const sending = producer.send({ messages }).finally(() => inFlight.delete(sending));
    inFlight.add(sending);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };
  try {
    for (const event of recentEvents(count)) {
      const value = Buffer.from(encode(event));
      bytes += value.length;
      batch.push(value);
      if (batch.length >= batchEvents) await flush();
    }
    if (batch.length > 0) await flush();
    await Promise.all(inFlight);
  } finally {
    await producer.close();
  }
  return bytes / count;
}

async function countedEverywhere(
  db: ClickHouseClient,
  redis: Redis,
  prefix: string,
): Promise<{ hourly: number; daily: number; raw: number; redis: number }> {
  const total = async (table: string) => {
    const [row] = await db.query<{ n: number }>(`SELECT sum(requests) AS n FROM
    (SELECT argMax(requests, source_offset) AS requests FROM ${table} GROUP BY bucket, app_id, service, source)`);
    return Number(row?.n ?? 0);
  };
  const [raw] = await db.query<{ n: number }>('SELECT count() AS n FROM access_events');
  const nowS = Math.floor(Date.now() / 1000);
  let inRedis = 0;
  // Events are from the last 31 minutes: today's and (just after midnight) yesterday's day counters hold them all.
  for (const s of [nowS, nowS - 86_400]) {
    const counts = await redis.hvals(dayKey(prefix, s, 'app'));
    for (const n of counts) inRedis += Number(n);
  }
  return {
    hourly: await total('traffic_hourly'),
    daily: await total('traffic_daily'),
    raw: Number(raw?.n ?? 0),
    redis: inRedis,
  };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export async function collectorBench(): Promise<CollectorBenchResult | undefined> {
  const name = 'collector throughput';
  if (await skipWithout(name, ['kafka', 'clickhouse', 'redis'])) return undefined;
  const events = Number(process.env.BENCH_COLLECTOR_EVENTS ?? 1_000_000);
  const partitions = Number(process.env.BENCH_COLLECTOR_PARTITIONS ?? 4);
  const profileDir = process.env.BENCH_COLLECTOR_PROF;
  const id = randomBytes(5).toString('hex');
  const topic = `tollgate-bench-collector-${id}`;
  const database = `tollgate_bench_collector_${id}`;
  const prefix = `tollgate:bench:${id}:`;
  const server = createClickHouseClient({ url: clickhouseUrl, timeoutMs: 60_000 });
  const db = server.withDatabase(database);
  const admin = new Admin({ clientId: 'tollgate-bench-admin', bootstrapBrokers: kafkaBrokers });
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const cpuCount = (await import('node:os')).cpus().length;
  // The last CPU, as the proxy bench pins its server; the shared services stay free to use every CPU.
  const pinnedCpu = cpuCount >= 2 && onPath('taskset') && process.env.BENCH_PIN !== '0' ? cpuCount - 1 : undefined;
  try {
    await redis.connect();
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
    await migrate({ client: server, database });
    const setupStart = performance.now();
    const meanBytes = await produceEvents(topic, events, partitions);
    console.log(
      `  ${name}: produced ${events} events (${meanBytes.toFixed(0)} B mean, lz4) to ` +
        `${partitions} partitions in ${((performance.now() - setupStart) / 1000).toFixed(1)} s (not timed)`,
    );

    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, MAIN] : [MAIN];
    const [cmd, args] =
      pinnedCpu === undefined ? [NODE, nodeArgs] : ['taskset', ['-c', String(pinnedCpu), NODE, ...nodeArgs]];
    const spawnedMs = performance.now();
    const child = spawnChild(cmd, args, {
      ...process.env,
      TOLLGATE_KAFKA_BROKERS: kafkaBrokers.join(','),
      TOLLGATE_CLICKHOUSE_URL: clickhouseUrl,
      TOLLGATE_CLICKHOUSE_DATABASE: database,
      TOLLGATE_COLLECTOR_TOPIC: topic,
      TOLLGATE_COLLECTOR_GROUP: `tollgate-bench-${id}`,
      TOLLGATE_COLLECTOR_METRICS_LISTEN: '127.0.0.1:0',
      TOLLGATE_REDIS_URL: redisUrl,
      TOLLGATE_REDIS_PREFIX: prefix,
      TOLLGATE_LOG_LEVEL: process.env.BENCH_COLLECTOR_LOG_LEVEL ?? 'info',
    });
    let output = '';
    let readyMs = 0;
    let cpuAtReadyUs = 0;
    const pid = child.pid as number;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      output += s;
      if (!readyMs && output.includes('"collector started"')) {
        readyMs = performance.now();
        cpuAtReadyUs = treeCpuUs(pid);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      output += s;
    });
    try {
      const deadlineMs = performance.now() + 600_000;
      let last = { hourly: 0, daily: 0, raw: 0, redis: 0 };
      for (;;) {
        if (child.exitCode !== null)
          throw new Error(`collector exited with ${child.exitCode}:\n${output.slice(-3000)}`);
        if (performance.now() > deadlineMs)
          throw new Error(`not every event counted after 600 s: ${JSON.stringify(last)}`);
        if (readyMs) {
          last = await countedEverywhere(db, redis, prefix);
          if (last.hourly >= events && last.daily >= events && last.raw >= events && last.redis >= events) break;
        }
        await sleep(100);
      }
      const doneMs = performance.now();
      const cpuUs = treeCpuUs(pid) - cpuAtReadyUs;
      const elapsedMs = doneMs - readyMs;
      const eventsPerS = events / (elapsedMs / 1000);
      const exact = last.hourly === events && last.daily === events && last.raw === events && last.redis === events;
      if (!exact) console.log(`  ${name}: WARNING counts differ from ${events}: ${JSON.stringify(last)}`);
      if (process.env.BENCH_COLLECTOR_LOG) writeFileSync(process.env.BENCH_COLLECTOR_LOG, output);
      return {
        events,
        partitions,
        pinnedCpu,
        startupMs: readyMs - spawnedMs,
        elapsedMs,
        eventsPerS,
        cpuUsPerEvent: cpuUs / events,
        coreShare: cpuUs / 1000 / elapsedMs,
        pass: exact && eventsPerS >= TARGET_EVENTS_PER_S,
      };
    } finally {
      await stopChild(child, 15_000);
      if (profileDir) console.log(`  ${name}: collector CPU profile in ${profileDir}`);
    }
  } finally {
    await admin.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
    await admin.close();
    await server.exec(`DROP DATABASE IF EXISTS ${database}`).catch(() => {});
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}

/** The issue's collector target, as a check of the default `npm run bench` (absent when the bench was skipped). */
export function collectorChecks(r: CollectorBenchResult | undefined): Check[] {
  if (r === undefined) return [];
  return [
    {
      name: 'cluster collector events/s on one core (Kafka → ClickHouse + Redis, exact)',
      value: r.eventsPerS,
      target: { op: '>=', limit: TARGET_EVENTS_PER_S },
      pass: r.pass,
    },
  ];
}

export function printCollector(r: CollectorBenchResult): void {
  console.log(
    `\nCollector throughput (Kafka → ClickHouse + Redis), ${r.events} events, ${r.partitions} partitions, ` +
      `${r.pinnedCpu === undefined ? 'not pinned' : `collector pinned to CPU ${r.pinnedCpu}`}`,
  );
  console.log(`  start-up (spawn → consuming)   ${(r.startupMs / 1000).toFixed(1)} s (not counted)`);
  console.log(`  all counted in                 ${(r.elapsedMs / 1000).toFixed(2)} s`);
  console.log(`  events/s                       ${Math.round(r.eventsPerS)}`);
  console.log(
    `  collector CPU-µs per event     ${r.cpuUsPerEvent.toFixed(2)}  (${(r.coreShare * 100).toFixed(0)}% of one core)`,
  );
  console.log(`  ≥ ${TARGET_EVENTS_PER_S} events/s on one core: ${passMiss(r.pass)}`);
}
