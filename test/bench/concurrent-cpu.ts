// `npm run bench -- --cpu-side-by-side`: CPU per request of the floor and the
// proxies, all running at once on the same CPU, each held at the same fixed
// rate by its own open-loop generator, read over the same windows.
//
// The peak rounds of `npm run bench` run one competitor at a time, and on a
// shared machine its throughput moves 10-30% from one round to the next, so a
// few percent between Tollgate and the floor stays inside the noise even over
// thirty rounds. Here every window puts the same machine state on every
// server: a neighbour's burst, a slower CPU or a busier host slows all of them
// together, and the ratio of their CPU per request barely moves (±1% from
// window to window in the runs in docs/performance.md, where rounds of the same server
// moved ±10%). CPU per request at a fixed rate is what bounds a CPU-bound
// proxy's peak, though not the same figure: batching at peak lowers it for
// every proxy, and per-second work (health checks, timers) weighs more at a
// lower rate. It complements the peak rounds; it does not replace them.
import { cpus } from 'node:os';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { runRate, type RateResult } from './load.ts';
import { treeCpuUs } from './proc-tree.ts';
import { describe, medianEstimate, median } from './report.ts';
import {
  type Competitor,
  findCompetitor,
  newWorkDir,
  probeKafka,
  type RunningServer,
  startUpstream,
} from './servers.ts';
import { pinFromNowOn, pinningNote } from './cpu-pin.ts';

const rateRps = Number(process.env.BENCH_SIDE_RPS ?? 3000);
const windows = Number(process.env.BENCH_SIDE_WINDOWS ?? 12);
const windowS = Number(process.env.BENCH_SIDE_WINDOW_S ?? 10);
const warmupS = Number(process.env.BENCH_SIDE_WARMUP_S ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const defaultNames = ['bare-undici', 'tollgate'];
const floor = 'bare-undici';

export interface SideBySideRow {
  name: string;
  /** CPU µs per request of the server's process tree, per window. */
  cpuUs: number[];
  /** The first pass's generator figures (each pass's rate must have held for cpuUs to be per request). */
  load?: RateResult;
  note?: string;
}

export interface SideBySide {
  rateRps: number;
  windowS: number;
  warmupS: number;
  pinning: string;
  rows: SideBySideRow[];
}

export async function runSideBySide(): Promise<SideBySide> {
  pinFromNowOn();
  await probeKafka();
  const names = process.env.BENCH_ONLY?.split(',') ?? defaultNames;
  const workDir = newWorkDir();
  const upstream = await startUpstream(workDir);
  const origin = new URL(upstream.url).origin;
  const rows: SideBySideRow[] = [];
  try {
    const available = names.filter((name) => {
      const why = findCompetitor(name).unavailable();
      if (why) rows.push({ name, cpuUs: [], note: why });
      return !why;
    });
    // Where a server stands in the start order moves its figure: in runs of two
    // copies of the same Tollgate beside the floor, the one started later used
    // 0.9-1.6% more CPU per request. Half the windows are read with the servers
    // started in the order given and half in the reverse order (fresh
    // processes), so that bias falls on every side alike.
    const competitors = available.map(findCompetitor);
    const first = await measurePass(competitors, origin, workDir, Math.ceil(windows / 2));
    const second = await measurePass([...competitors].reverse(), origin, workDir, Math.floor(windows / 2));
    for (const name of available) {
      const a = first.get(name)!;
      const b = second.get(name);
      const notes = [a.note, b?.note].filter((n) => n !== undefined);
      rows.push({
        name,
        cpuUs: [...a.cpuUs, ...(b?.cpuUs ?? [])],
        load: a.load,
        note: notes.length ? notes.join('; ') : undefined,
      });
    }
  } finally {
    await upstream.stop();
    // BENCH_SIDE_KEEP=1 keeps the servers' logs (and whatever a wrapper wrote there).
    if (process.env.BENCH_SIDE_KEEP === '1') console.log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  rows.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
  return { rateRps, windowS, warmupS, pinning: pinningNote(), rows };
}

/** Starts `competitors` in that order, loads each at the same rate, reads `count` windows, stops them. */
export async function measurePass(
  competitors: Competitor[],
  origin: string,
  workDir: string,
  count: number,
): Promise<Map<string, SideBySideRow>> {
  const out = new Map<string, SideBySideRow>();
  if (count === 0) return out;
  const servers: { name: string; server: RunningServer }[] = [];
  try {
    for (const c of competitors) servers.push({ name: c.name, server: await c.start(origin, workDir) });
    const totalS = warmupS + count * windowS + 1;
    // One generator per server for the whole pass; its result comes at the end.
    const loads = servers.map(({ server }) => runRate(server.url, rateRps, connections, totalS, 0));
    await sleep(warmupS * 1000);
    const cpuUs: number[][] = servers.map(() => []);
    let before = servers.map(({ server }) => treeCpuUs(server.pid));
    for (let w = 0; w < count; w++) {
      await sleep(windowS * 1000);
      const now = servers.map(({ server }) => treeCpuUs(server.pid));
      for (let i = 0; i < servers.length; i++) cpuUs[i].push((now[i] - before[i]) / (rateRps * windowS));
      before = now;
    }
    const results = await Promise.all(loads);
    for (const [i, { name }] of servers.entries()) {
      const load = results[i];
      const held = load.errors === 0 && load.achievedRps >= rateRps * 0.98;
      out.set(name, {
        name,
        cpuUs: cpuUs[i],
        load,
        note: held
          ? undefined
          : `rate not held (${Math.round(load.achievedRps)} req/s, ` +
            `${load.errors} errors): its CPU per request is not comparable`,
      });
    }
  } finally {
    for (const { server } of servers) await server.stop();
  }
  return out;
}

/** Per-window ratios of `name`'s CPU per request to the floor's (same windows). */
export function windowRatios(s: SideBySide, name: string, base = floor): number[] | undefined {
  const a = s.rows.find((r) => r.name === name);
  const b = s.rows.find((r) => r.name === base);
  if (!a || !b || a.note || b.note || a.cpuUs.length !== b.cpuUs.length) return undefined;
  return a.cpuUs.map((v, i) => v / b.cpuUs[i]);
}

export function printSideBySide(s: SideBySide): void {
  const running = s.rows.filter((r) => !r.note || r.load);
  console.log(
    `\nCPU per request side by side: ${running.length} servers at once, ` +
      `each at ${s.rateRps} req/s (open loop, ${connections} connections), ` +
      `${windows} windows of ${s.windowS} s (half with the servers started in reverse order) ` +
      `after ${s.warmupS} s warm-up each time, ${cpus().length} CPUs, ${s.pinning.replace('server', 'servers')}, ` +
      `node ${process.version}`,
  );
  for (const r of s.rows) {
    const per = r.cpuUs.map((v) => v.toFixed(1)).join(' ');
    console.log(
      r.name.padEnd(20) +
        (r.cpuUs.length ? ` CPU µs/req median ${median(r.cpuUs).toFixed(1)}  per window: ${per}` : ' ') +
        (r.note ? `  (${r.note})` : ''),
    );
  }
  for (const r of s.rows) {
    if (r.name === floor) continue;
    const ratios = windowRatios(s, r.name);
    if (!ratios) continue;
    console.log(
      `${r.name} / ${floor} CPU per request, median of windows [95% CI]: ${describe(medianEstimate(ratios)!)}`,
    );
  }
}
