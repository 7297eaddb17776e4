// What one access event costs the gateway with the Kafka sink on: building it
// and encoding it (requestRecord), queueing it (sink.append) and the sender's share
// (the client library's record batch, compression, the produce request), at a
// steady rate like a busy gateway's, to the real broker. Prints CPU-µs per
// event of this process (all threads, user + system, less the same loop with
// a sink that does nothing) and of the broker, by variant; rounds of the
// variants are interleaved, each reports its median round.
//
// Run: node_modules/.bin/node test/bench/events/kafka-emit.bench.ts
// Env: BENCH_EMIT_RATE events/s (10000), BENCH_EMIT_ROUND_S (4), BENCH_EMIT_ROUNDS (3),
//      BENCH_EMIT_COMPRESSION (lz4; a comma list compares them),
//      BENCH_EMIT_BASELINE=DIR also runs the sink of another checkout (e.g. `git archive HEAD` unpacked, with
//      node_modules linked) for a before/after in the same run.
// Needs Kafka (`npm run services:up`; TOLLGATE_TEST_KAFKA_BROKERS, default 127.0.0.1:9192).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { sampleEvents } from './sample-events.ts';

const brokers = (process.env.TOLLGATE_TEST_KAFKA_BROKERS ?? '127.0.0.1:9192').split(',');
const rate = Number(process.env.BENCH_EMIT_RATE ?? 10_000);
const roundS = Number(process.env.BENCH_EMIT_ROUND_S ?? 4);
const rounds = Number(process.env.BENCH_EMIT_ROUNDS ?? 3);
const compressions = (process.env.BENCH_EMIT_COMPRESSION ?? 'lz4').split(',');
const baselineDir = process.env.BENCH_EMIT_BASELINE;
const tickMs = 5;

interface Sink {
  emit(event: unknown): void;
  append(record: Buffer): void;
  close(timeoutMs: number): Promise<void>;
  spooledEvents?: number;
}
interface Variant {
  name: string;
  open(): Promise<Sink>;
  build: (ctx: FakeContext, status: number, seconds: number, node: string) => unknown;
}

/** The fields of RequestContext that accessEvent reads, shaped from realistic events. */
interface FakeContext {
  startMs: number;
  upstreamMs: number;
  upstreamStatus: number;
  bytesIn: number;
  bytesOut: number;
  clientIp: string;
  appId: string;
  route: { name: string; service: { name: string } } | undefined;
  target: { id: string } | undefined;
  req: { method: string; headers: Record<string, string> };
  errorCode: string | undefined;
  errorClass(status: number): string;
  protocol: string;
  tlsVersion: string;
  grpc: boolean;
  grpcStatus: number;
  path: string;
}

const contexts: FakeContext[] = sampleEvents(4096).map(
  (e): FakeContext => ({
    startMs: performance.now(),
    upstreamMs: e.upstreamUs / 1000,
    upstreamStatus: e.upstreamStatus,
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    clientIp: e.clientIp,
    appId: e.appId,
    route: e.route ? { name: e.route, service: { name: e.service } } : undefined,
    target: e.target ? { id: e.target } : undefined,
    req: {
      method: e.method,
      headers: e.traceId ? { traceparent: `00-${e.traceId}-00f067aa0ba902b7-01` } : ({} as Record<string, string>),
    },
    errorCode: e.errorClass === 'rate_limited' ? 'GW_ERR_RATE_LIMITED' : undefined,
    errorClass: () => e.errorClass,
    protocol: e.protocol,
    tlsVersion: e.tlsVersion,
    grpc: e.protocol === 'grpc',
    grpcStatus: e.grpcStatus,
    path: e.grpcMethod,
  }),
);

async function loadVariant(
  root: string,
  label: string,
  compression: string,
  topic: string,
  dir: string,
): Promise<Variant> {
  const { createKafkaSink } = await import(join(root, 'gateway/proxy/events/kafka/index.ts'));
  const events = await import(join(root, 'gateway/proxy/events/access-event.ts'));
  const { createEventMetrics } = await import(join(root, 'gateway/metrics.ts'));
  return {
    name: `${label} ${compression}`,
    // What the data plane does: the request's record (a checkout from before requestRecord: its event).
    build: events.requestRecord ?? events.accessEvent,
    open: () =>
      createKafkaSink(
        {
          brokers,
          topic,
          clientId: 'tollgate-emit-bench',
          flushMs: 100,
          batchEvents: 1000,
          compression,
          timeoutMs: 5000,
          dir: mkdtempSync(join(dir, 'spool-')),
          maxBytes: 1 << 30,
        },
        createEventMetrics(new Registry()),
        pino({ level: 'warn' }),
      ),
  };
}

function brokerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kafka.Kafka')) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux
function procCpuUs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Emits `rate` events/s for `seconds`, in ticks like a server's; returns CPU-µs of this process and the broker. */
async function drive(
  sink: Sink,
  build: Variant['build'],
  seconds: number,
  broker: number | undefined,
): Promise<{ selfUs: number; brokerUs: number; events: number }> {
  const cpu0 = process.cpuUsage();
  const broker0 = procCpuUs(broker);
  const start = performance.now();
  let events = 0;
  let i = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; events < due; events++) {
      const ctx = contexts[i++ & 4095];
      const made = build(ctx, ctx.errorCode ? 429 : 200, (ctx.upstreamMs + 0.4) / 1000, 'gw-bench-01');
      if (Buffer.isBuffer(made)) sink.append(made);
      else sink.emit(made);
    }
    await sleep(tickMs);
  }
  // Let the last batch go out inside the measurement.
  await sleep(250);
  const cpu = process.cpuUsage(cpu0);
  return { selfUs: cpu.user + cpu.system, brokerUs: procCpuUs(broker) - broker0, events };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-emit-bench-'));
  const broker = brokerPid();
  const topic = `tollgate-emit-bench-${process.pid}`;
  const variants: Variant[] = [];
  for (const c of compressions) {
    if (baselineDir) variants.push(await loadVariant(resolve(baselineDir), 'before', c, topic, dir));
    variants.push(
      await loadVariant(resolve(import.meta.dirname, '../../..'), baselineDir ? 'after ' : 'sink', c, topic, dir),
    );
  }
  const noop: Sink = { emit: () => undefined, append: () => undefined, close: async () => undefined };
  const nothing: Variant['build'] = () => undefined;
  const sinks = await Promise.all(variants.map((v) => v.open()));
  await sleep(1000);
  // Warm-up: JIT, connections, the topic.
  for (const [k, v] of variants.entries()) await drive(sinks[k], v.build, 1, broker);
  await drive(noop, nothing, 1, broker);
  const results = new Map<string, { self: number[]; broker: number[] }>();
  const note = (
    name: string,
    r: { selfUs: number; brokerUs: number; events: number },
    base: { selfUs: number; events: number },
  ) => {
    const entry = results.get(name) ?? { self: [], broker: [] };
    entry.self.push(r.selfUs / r.events - base.selfUs / base.events);
    entry.broker.push(r.brokerUs / r.events);
    results.set(name, entry);
  };
  for (let round = 0; round < rounds; round++) {
    const base = await drive(noop, nothing, roundS, broker);
    for (const [k, v] of variants.entries()) note(v.name, await drive(sinks[k], v.build, roundS, broker), base);
  }
  await Promise.all(sinks.map((s) => s.close(5000)));
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `${rate} events/s, ${rounds} rounds of ${roundS} s, median round; ` +
      `CPU-µs per event (the gateway's share less a no-op sink; the broker's)`,
  );
  console.log(
    'variant'.padEnd(16) +
      'gateway'.padStart(10) +
      'broker'.padStart(10) +
      'total'.padStart(10) +
      '   rounds (gateway)',
  );
  for (const [name, r] of results) {
    const g = median(r.self);
    const b = median(r.broker);
    console.log(
      name.padEnd(16) +
        g.toFixed(2).padStart(10) +
        b.toFixed(2).padStart(10) +
        (g + b).toFixed(2).padStart(10) +
        '   ' +
        r.self.map((x) => x.toFixed(2)).join(' '),
    );
  }
}

await main();
