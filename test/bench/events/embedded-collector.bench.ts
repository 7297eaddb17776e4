// The single-node collector's cost per event, on its own: BENCH_EMBEDDED_EVENTS (default 500,000) sample events
// appended to a real segment log, then the real EmbeddedCollector and SQLite store counting them from the start.
// Each round counts on a new worker thread, as the gateway runs it, and prints events/s, the thread's CPU µs per
// event, and its young generation's largest size: the thread inherits the gateway's --max-semi-space-size, so what
// it allocates per event decides how far its heap grows when it catches up after a burst.
// Usage: NODE_OPTIONS=--max-semi-space-size=16 node test/bench/events/embedded-collector.bench.ts
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { encode } from '../../../shared/access-event-codec.ts';
import { SegmentLog } from '../../../shared/segment-log/segment-log.ts';
import { EmbeddedCollector } from '../../../collector/embedded/collector.ts';
import { EmbeddedStore } from '../../../collector/embedded/store.ts';
import { sampleEvents } from './sample-events.ts';

const count = Number(process.env.BENCH_EMBEDDED_EVENTS ?? 500_000);
const rounds = Number(process.env.BENCH_EMBEDDED_ROUNDS ?? 3);
const MB = 2 ** 20;

const newSpaceBytes = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

async function writeLog(dir: string): Promise<void> {
  const log = await SegmentLog.open(join(dir, 'log'), { maxTotalBytes: 4 * 1024 * MB });
  const events = sampleEvents(count);
  // Today's clock, so the collector's live stats and buckets look like a running gateway's.
  const shiftMs = Date.now() - events[0].startMs;
  for (let i = 0; i < events.length; i++) {
    log.append(encode({ ...events[i], startMs: events[i].startMs + shiftMs }));
    if (i % 10_000 === 0) await log.flush();
  }
  await log.close();
}

interface RoundResult {
  seconds: number;
  cpuUs: number;
  newSpaceMaxMb: number;
}

async function countAll(source: string, round: number): Promise<RoundResult> {
  // A copy per round: counting commits the log's checkpoint, and a new store resumes from it.
  const dir = `${source}-${round}`;
  cpSync(source, dir, { recursive: true });
  const store = EmbeddedStore.open(join(dir, 'store.db'));
  const collector = new EmbeddedCollector({ eventsDir: dir, store, pollIntervalMs: 5 });
  let newSpaceMax = newSpaceBytes();
  const sampler = setInterval(() => {
    newSpaceMax = Math.max(newSpaceMax, newSpaceBytes());
  }, 10);
  const cpu0 = process.threadCpuUsage();
  const t0 = performance.now();
  await collector.start();
  while (collector.stats.counted < count) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.threadCpuUsage(cpu0);
  clearInterval(sampler);
  await collector.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return { seconds, cpuUs: cpu.user + cpu.system, newSpaceMaxMb: newSpaceMax / MB };
}

function countOnThread(dir: string, round: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { dir, round } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

if (!isMainThread) {
  const { dir, round } = workerData as { dir: string; round: number };
  parentPort?.postMessage(await countAll(dir, round));
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), 'tollgate-embedded-bench-'));
const dir = join(root, 'events');
try {
  await writeLog(dir);
  console.log(`embedded collector: ${count} events from a segment log into SQLite, ${rounds} rounds`);
  for (let r = 0; r < rounds; r++) {
    const { seconds, cpuUs, newSpaceMaxMb } = await countOnThread(dir, r);
    console.log(
      `  round ${r + 1}: ${Math.round(count / seconds)} events/s, ${(cpuUs / count).toFixed(2)} CPU µs/event, ` +
        `young generation up to ${newSpaceMaxMb.toFixed(1)} MB`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
