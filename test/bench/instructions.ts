// `npm run bench -- --instructions`: user-space instructions per request,
// counted by callgrind, for the floor and the proxies the targets compare.
//
// The peak phase of `npm run bench` measures requests/s on a shared 2-core
// machine, where a neighbour moves a competitor's figure by 15% and more, so
// the 1.0x-the-floor target has been decided by noise run after run. An
// instruction count does not depend on what else the machine is doing:
// callgrind counts every instruction the server's process executes (all its
// threads: JIT compilers and GC helpers included) and nothing the kernel does.
// Kernel work (socket reads and writes, epoll) is the same per request for
// every Node proxy here (the same syscalls: docs/performance.md), so a
// smaller count is a cheaper proxy wherever the CPU is the limit.
//
// Each server runs under `valgrind --tool=callgrind` with instrumentation off,
// is warmed with BENCH_INSTR_WARMUP requests, then instrumented for one more
// round; then, for BENCH_INSTR_ROUNDS rounds, its counters are zeroed,
// exactly BENCH_INSTR_REQUESTS requests are sent (autocannon, 50 connections,
// a native process), and the counters are dumped and read. Under valgrind the
// server runs ~50x slower than natively while wall-clock timers keep their
// pace, so work that runs per second (the active health checks, metrics
// timers) weighs ~50x more per request than it does natively: Tollgate runs
// without its active health checks here, and the "busy" figure takes off
// what the idle rate says of the rest (idleMs below). V8 also collects and
// recompiles on its own schedule (in one run the secured Tollgate's rounds
// spread from 171,000 to 210,000), so the figure is the median of the rounds
// and the range is printed beside it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './report.ts';
import { runCount } from './load.ts';
import { onPath } from './procs.ts';
import { findCompetitor, newWorkDir, probeKafka, startUpstream, wrapServers, type RunningServer } from './servers.ts';

const warmupRequests = Number(process.env.BENCH_INSTR_WARMUP ?? 30_000);
const roundRequests = Number(process.env.BENCH_INSTR_REQUESTS ?? 10_000);
const rounds = Number(process.env.BENCH_INSTR_ROUNDS ?? 5);
const connections = 50;
// Work that runs per second weighs ~50x more per request under valgrind than natively. What the
// server executes in this long with no request in flight, scaled to each round's length, is
// taken off that round for the "busy" figure. That is only a first correction: with its active
// health checks (0.8 M instructions each), Tollgate's busy figure still rose by 4,400-6,600
// instructions per request when two counts ran side by side and each round took longer, so the
// checks are left out of the count unless BENCH_INSTR_ACTIVE_HEALTH=1 keeps them.
const idleMs = Number(process.env.BENCH_INSTR_IDLE_MS ?? 10_000);
// With BENCH_INSTR_CACHE=1 callgrind also simulates the caches and branch predictor (about
// twice as slow again), and the table gets a cycle estimate beside the instructions.
const cacheSim = process.env.BENCH_INSTR_CACHE === '1';
const activeHealth = process.env.BENCH_INSTR_ACTIVE_HEALTH === '1';
const defaultNames = ['bare-undici', 'tollgate', 'tollgate+secure', 'fastify-http-proxy'];

export interface InstructionRow {
  name: string;
  /** Instructions per request in each measured round. */
  perRequest: number[];
  median?: number;
  /** Each round less what the server executes idle in as long (see idleMs). */
  busyPerRequest?: number[];
  busyMedian?: number;
  /** Each round's wall-clock length. */
  seconds?: number[];
  /** Instructions per second idle. */
  idlePerSecond?: number;
  /** The median busy round's cycle estimate per request (cycleEstimate), with the cache simulation. */
  busyCyclesMedian?: number;
  note?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where callgrind writes a competitor's dumps: `<this>.<pid>.out.<n>` for the n-th. */
function outFile(workDir: string, name: string): string {
  return join(workDir, `callgrind.${name.replace(/[^a-z0-9+-]/gi, '_')}`);
}

/** Event name (Ir, and with the cache simulation I1mr, D1mr, Bcm, ...) to its count. */
export type Events = Record<string, number>;

/** The `totals:` line of a callgrind dump, by its `events:` names, once the file is written whole. */
async function readTotals(file: string): Promise<Events> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      const names = /^events: (.+)$/m.exec(text)?.[1].trim().split(/\s+/);
      const totals = /^totals: ([\d ]+)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number);
      if (names && totals) return Object.fromEntries(names.map((n, k) => [n, totals[k] ?? 0]));
    }
    await sleep(100);
  }
  throw new Error(`no callgrind dump in ${file} after 60 s`);
}

/**
 * KCachegrind's cycle estimate, Ir + 10 (L1 misses + branch mispredictions) + 100 LL misses:
 * what instructions miss when one proxy's code or data is larger than another's. Undefined
 * without the cache simulation (BENCH_INSTR_CACHE=1). valgrind sizes the simulated caches from
 * the CPU's own report; a VM here reported a 384 MB L3, so last-level misses came out ~0.
 */
export function cycleEstimate(e: Events): number | undefined {
  if (e.I1mr === undefined) return undefined;
  const l1 = e.I1mr + e.D1mr + e.D1mw;
  const ll = e.ILmr + e.DLmr + e.DLmw;
  const branches = (e.Bcm ?? 0) + (e.Bim ?? 0);
  return e.Ir + 10 * (l1 + branches) + 100 * ll;
}

function control(pid: number, command: string): void {
  execFileSync('callgrind_control', [command, String(pid)], { stdio: 'ignore', timeout: 60_000 });
}

async function load(target: Target, amount: number): Promise<void> {
  const r = await runCount(target.url, amount, connections, target.headers);
  if (r.requests !== amount || r.errors !== 0 || r.non2xx !== 0) {
    throw new Error(`${amount} requests asked: ${r.requests} answered, ${r.non2xx} not 2xx, ${r.errors} errors`);
  }
}

/** A server started under `valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=<outPrefix>.%p.out`. */
export interface Target {
  pid: number;
  url: string;
  headers?: Record<string, string>;
  outPrefix: string;
}

export interface Counts {
  /** What each round executed, in order. */
  totals: Events[];
  /** Each round's wall-clock length. */
  seconds: number[];
  /** Per second with no request in flight (timers, active health checks). */
  idlePerSecond: Events;
}

/**
 * Warms the target uninstrumented with `warmup` requests, turns instrumentation
 * on for one round of `rounds[0]` requests, then for each entry of `rounds`
 * zeroes the counters, sends that many requests and dumps; last, counts
 * `idleMs` with no requests.
 */
export async function countRounds(target: Target, warmup: number, rounds: number[], idleMs: number): Promise<Counts> {
  await load(target, warmup);
  control(target.pid, '--instr=on');
  await load(target, rounds[0]);
  let dumps = 0;
  const count = async (during: () => Promise<unknown>): Promise<[Events, number]> => {
    control(target.pid, '--zero');
    const started = performance.now();
    await during();
    const seconds = (performance.now() - started) / 1000;
    control(target.pid, '--dump');
    return [await readTotals(`${target.outPrefix}.${target.pid}.out.${++dumps}`), seconds];
  };
  const totals: Events[] = [];
  const seconds: number[] = [];
  for (const amount of rounds) {
    const [total, s] = await count(() => load(target, amount));
    totals.push(total);
    seconds.push(s);
  }
  const [idle, idleSeconds] = await count(() => sleep(idleMs));
  return {
    totals,
    seconds,
    idlePerSecond: Object.fromEntries(Object.entries(idle).map(([k, v]) => [k, v / idleSeconds])),
  };
}

async function measure(name: string, origin: string, workDir: string): Promise<InstructionRow> {
  const competitor = findCompetitor(name);
  const why = competitor.unavailable();
  if (why) return { name, perRequest: [], note: why };
  let server: RunningServer | undefined;
  try {
    server = await competitor.start(origin, workDir);
    const counts = await countRounds(
      { ...server, outPrefix: outFile(workDir, name) },
      warmupRequests,
      Array(rounds).fill(roundRequests),
      idleMs,
    );
    // Each round less the idle rate over its length, event by event.
    const busy = counts.totals.map((t, i) =>
      Object.fromEntries(
        Object.entries(t).map(([k, v]) => [k, v - (counts.idlePerSecond[k] ?? 0) * counts.seconds[i]]),
      ),
    );
    const perRequest = counts.totals.map((t) => t.Ir / roundRequests);
    const busyPerRequest = busy.map((t) => t.Ir / roundRequests);
    const cycles = busy.map(cycleEstimate);
    const busyCyclesMedian = cycles.every((c) => c !== undefined)
      ? median(cycles.map((c) => c! / roundRequests))
      : undefined;
    return {
      name,
      perRequest,
      median: median(perRequest),
      busyPerRequest,
      busyMedian: median(busyPerRequest),
      idlePerSecond: counts.idlePerSecond.Ir,
      busyCyclesMedian,
      seconds: counts.seconds,
    };
  } catch (err) {
    return { name, perRequest: [], note: `failed: ${(err as Error).message}` };
  } finally {
    await server?.stop();
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function printInstructions(rows: InstructionRow[]): void {
  const floor = rows.find((r) => r.name === 'bare-undici');
  console.log(
    `\nUser-space instructions per request (callgrind; median of ${rounds} rounds of ${fmt(roundRequests)} requests, ` +
      `${connections} connections, after ${fmt(warmupRequests)} + ${fmt(roundRequests)} warm-up requests; ` +
      `busy: less ${idleMs / 1000} s idle's rate over each round's length)`,
  );
  const cycles = rows.some((r) => r.busyCyclesMedian !== undefined);
  console.log(
    '| competitor | instructions / request | rounds (min–max) | / ' +
      'floor | idle instructions / s | busy / request | busy / floor |' +
      (cycles ? ' busy cycle estimate / request | / floor |' : ''),
  );
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |' + (cycles ? ' ---: | ---: |' : ''));
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? (a / b).toFixed(3) : '–');
  for (const r of rows) {
    if (r.median === undefined) {
      console.log(`| ${r.name} | – | ${r.note} | | | | |`);
      continue;
    }
    console.log(
      `| ${r.name} | ${fmt(r.median)} | ` +
        `${fmt(Math.min(...r.perRequest))}–${fmt(Math.max(...r.perRequest))} | ${ratio(r.median, floor?.median)} ` +
        `| ${fmt(r.idlePerSecond ?? 0)} | ${fmt(r.busyMedian ?? 0)} | ${ratio(r.busyMedian, floor?.busyMedian)} |` +
        (cycles ? ` ${fmt(r.busyCyclesMedian ?? 0)} | ${ratio(r.busyCyclesMedian, floor?.busyCyclesMedian)} |` : ''),
    );
  }
}

export async function runInstructions(): Promise<InstructionRow[]> {
  for (const tool of ['valgrind', 'callgrind_control']) {
    if (!onPath(tool)) throw new Error(`--instructions needs ${tool} (Debian package valgrind)`);
  }
  await probeKafka();
  const workDir = newWorkDir();
  wrapServers({
    // Node competitors under valgrind get --no-memory-reducer (a bench setting, not the product's): the reducer
    // judges idleness by allocations per wall-clock second, which valgrind's slowness cuts
    // ~50x. Without the flag one of the floor's rounds read 1.5x and 2.4x the others in two
    // runs (the extra in IC misses and the optimising compiler: code recompiled), and
    // @fastify/http-proxy counted 320,098 per request against 238,239 with it.
    wrap: (name, cmd, args) => [
      'valgrind',
      [
        '--tool=callgrind',
        '--instr-atstart=no',
        '--trace-children=yes',
        ...(cacheSim ? ['--cache-sim=yes', '--branch-sim=yes'] : []),
        `--callgrind-out-file=${outFile(workDir, name)}.%p.out`,
        cmd,
        ...(cmd === process.execPath ? ['--no-memory-reducer'] : []),
        ...args,
      ],
    ],
    readyTimeoutMs: 180_000,
    // Active health checks run on wall-clock time, which valgrind stretches ~50x per request
    // (module comment); without them Tollgate's count is its request path's.
    editTollgateConfig: activeHealth
      ? undefined
      : (config) => {
          for (const svc of config.services) if (svc.upstream?.health) delete svc.upstream.health.active;
        },
  });
  const names = process.env.BENCH_ONLY?.split(',') ?? defaultNames;
  console.log(`Instructions per request under callgrind: ${names.join(', ')} (each takes a few minutes)`);
  const upstream = await startUpstream(workDir);
  const origin = new URL(upstream.url).origin;
  const rows: InstructionRow[] = [];
  try {
    for (const name of names) {
      console.log(`  counting ${name} ...`);
      const row = await measure(name, origin, workDir);
      console.log(`    ${row.perRequest.map(fmt).join(', ') || row.note}`);
      rows.push(row);
    }
  } finally {
    await upstream.stop();
  }
  // BENCH_INSTR_KEEP=1 keeps the callgrind dumps (for callgrind_annotate; with NODE_OPTIONS=--perf-basic-prof
  // the JIT's /tmp/perf-<pid>.map names the addresses callgrind cannot).
  if (rows.some((r) => r.note?.startsWith('failed')) || process.env.BENCH_INSTR_KEEP === '1')
    console.log(`logs and dumps kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  return rows;
}
