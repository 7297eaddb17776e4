// `npm run bench`: every competitor, one after another, same load settings, one upstream.
import { cpus } from 'node:os';
import { rmSync } from 'node:fs';
import { peakGenerator, runPeak, runRate, type PeakResult, type RateResult } from './load.ts';
import { installCleanup } from './procs.ts';
import { buildChecks, printChecks } from './checks.ts';
import {
  median,
  printHalfLoad,
  printPeakTable,
  roundsDisagree,
  writeResults,
  printPaired,
  type HalfLoad,
  type HalfLoadSide,
  type Paired,
  type PairedRound,
  type PeakRow,
} from './report.ts';
import { RssSampler, treeCpuUs, treeRss } from './proc-tree.ts';
import {
  competitors,
  findCompetitor,
  newWorkDir,
  probeKafka,
  startUpstream,
  type Competitor,
  type RunningServer,
} from './servers.ts';
import { pinningNote } from './cpu-pin.ts';
import { measurePathCost } from './path.bench.ts';
import { benchEnv, captured, gitCommit, writePerformanceDoc } from './performance-doc.ts';
import { collectorBench, collectorChecks, printCollector } from './analytics/collector.bench.ts';

const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
// Six rounds is the fewest whose median has a 95% confidence interval (report.ts, medianEstimate): the targets are
// judged on it.
const minRoundsForInterval = 6;
const halfLoadRounds = Number(process.env.BENCH_HALF_LOAD_ROUNDS ?? minRoundsForInterval);
// Alternating peak rounds: by default six, or one per competitor in them if more, so each starts a round at least once.
const pairedRoundsSetting = Number(process.env.BENCH_PAIRED_ROUNDS ?? 0);
const warmupS = 2;
// The open-loop generator (rate-load.ts, a Node process per round) has its own JIT hiccup about 3 s into its
// life: event-loop lags of 10-14 ms for ~50 ms that delay every reply in flight. With a 2 s warm-up it fell inside
// the measured phase (p99 straight to the upstream at 3500 req/s: 18.9 ms once in five runs, else 1.1-1.6).
const rateWarmupS = 5;
// Let start-up garbage settle before reading idle RSS.
const idleSettleMs = 500;
// Peak RSS is sampled until this long after the load: a collector catching up on a backlog grows its heap then.
const afterLoadSampleMs = 3000;
// Tollgate's RSS grows while it idles: its health checks' connections leave old-space garbage, and V8 optimises
// their code, whose first compile brings the compilers' pages of the node binary in (60-180 s after the start
// with the bench's checks). So it is read again after this long idle (0: not read).
const longIdleS = Number(process.env.BENCH_IDLE_LONG_S ?? 180);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measurePeak(c: Competitor, origin: string, workDir: string): Promise<PeakRow> {
  const why = c.unavailable();
  if (why) return { name: c.name, note: why };
  let server: RunningServer | undefined;
  try {
    server = await c.start(origin, workDir);
    await sleep(idleSettleMs);
    const idle = treeRss(server.pid);
    let rssIdleLongBytes: number | undefined;
    if (c.name === 'tollgate' && longIdleS > 0) {
      console.log(`  ${c.name}: idling ${longIdleS} s for the long idle RSS ...`);
      await sleep(longIdleS * 1000 - idleSettleMs);
      rssIdleLongBytes = treeRss(server.pid).totalBytes;
    }
    const sampler = new RssSampler(server.pid);
    await runPeak(server.url, warmupS, connections, server.headers);
    const { result, cpuUsPerRequest } = await peakWithCpu(server);
    await sleep(afterLoadSampleMs);
    return {
      name: c.name,
      result,
      cpuUsPerRequest,
      rssIdleBytes: idle.totalBytes,
      rssIdleLongBytes,
      idleLongS: rssIdleLongBytes === undefined ? undefined : longIdleS,
      rssPeakBytes: sampler.stop(),
      processes: idle.processes,
    };
  } catch (err) {
    return { name: c.name, note: `failed: ${(err as Error).message}` };
  } finally {
    await server?.stop();
  }
}

function summarize(rounds: RateResult[]): HalfLoadSide {
  return {
    rounds,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    achievedRps: median(rounds.map((r) => r.achievedRps)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
}

/** p99 of the floor and Tollgate at half of Tollgate's peak, open loop, in alternating rounds side by side; medians. */
async function halfLoad(rows: PeakRow[], origin: string, workDir: string): Promise<HalfLoad> {
  const peakOf = (name: string) => rows.find((r) => r.name === name)?.result?.rps;
  const tollgateRps = peakOf('tollgate');
  const basisRps = tollgateRps ?? peakOf('bare-undici');
  if (basisRps === undefined)
    return { rateRps: 0, basis: 'no peak measured', note: 'skipped: neither tollgate nor bare-undici ran' };
  const half: HalfLoad = {
    rateRps: basisRps / 2,
    basis: tollgateRps !== undefined ? "half of tollgate's peak" : "tollgate not measured: half of bare-undici's peak",
  };
  // With access events on, in both shapes, at the same rate: the counting targets judge p99 against events off.
  const names = (['bare-undici', 'tollgate', 'tollgate+events', 'tollgate+kafka'] as const).filter(
    (n) => peakOf(n) !== undefined,
  );
  const field = {
    'bare-undici': 'bareUndici',
    tollgate: 'tollgate',
    'tollgate+events': 'events',
    'tollgate+kafka': 'kafka',
  } as const;
  try {
    const rounds = await sideBySide(names, origin, workDir, async (servers) => {
      const perServer: RateResult[][] = names.map(() => []);
      for (let round = 0; round < halfLoadRounds; round++) {
        await inTurn(servers, round, async (s, i) => {
          perServer[i].push(await runRate(s.url, half.rateRps, connections, durationS, rateWarmupS));
        });
      }
      return perServer;
    });
    for (const [i, name] of names.entries()) half[field[name]] = summarize(rounds[i]);
  } catch (err) {
    half.note = `failed: ${(err as Error).message}`;
  }
  if (half.tollgate && half.bareUndici) half.p99DiffMs = half.tollgate.p99Ms - half.bareUndici.p99Ms;
  half.unstable = roundsDisagree([half.bareUndici, half.tollgate, half.events, half.kafka]);
  return half;
}

/**
 * The ratios the targets judge against the floor and @fastify/http-proxy, measured again with the
 * floor, the gateway variants and @fastify/http-proxy running side by side, in alternating peak
 * rounds. On a shared machine a neighbour's burst during one competitor's
 * sequential run moves the table's ratios by ±15%; a burst here lands on
 * one round of each, and the median of the per-round ratios barely moves.
 */
async function paired(rows: PeakRow[], origin: string, workDir: string): Promise<Paired> {
  const ran = (name: string) => rows.some((r) => r.name === name && r.result !== undefined);
  const names = [
    'bare-undici',
    'tollgate',
    'tollgate-b',
    'tollgate+events',
    'tollgate+kafka',
    'tollgate+secure',
    'fastify-http-proxy',
  ].filter(ran);
  if (!names.includes('bare-undici') || names.length < 2)
    return { names, rounds: [], note: 'skipped: needs bare-undici and a tollgate variant' };
  const rounds: PairedRound[] = [];
  const pairedRounds = pairedRoundsSetting || Math.max(minRoundsForInterval, names.length);
  try {
    await sideBySide(names, origin, workDir, async (servers) => {
      for (let round = 0; round < pairedRounds; round++) {
        const rps: number[] = [];
        const cpuUs: number[] = [];
        await inTurn(servers, round, async (s, i) => {
          const { result, cpuUsPerRequest } = await peakWithCpu(s);
          rps[i] = result.rps;
          cpuUs[i] = cpuUsPerRequest;
        });
        rounds.push({ rps, cpuUs });
      }
    });
  } catch (err) {
    return { names, rounds, note: `failed: ${(err as Error).message}` };
  }
  return { names, rounds };
}

/**
 * Measures each server once in round `round`, starting with the next one each
 * round: in one run the machine slowed through every round, and a fixed order
 * put that on whoever ran last.
 */
async function inTurn(
  servers: RunningServer[],
  round: number,
  measure: (s: RunningServer, i: number) => Promise<void>,
): Promise<void> {
  for (let k = 0; k < servers.length; k++) {
    const i = (round + k) % servers.length;
    await measure(servers[i], i);
  }
}

/** One measured peak run against a started, warmed server: the result and the server's CPU µs per request. */
async function peakWithCpu(s: RunningServer): Promise<{ result: PeakResult; cpuUsPerRequest: number }> {
  const before = treeCpuUs(s.pid);
  const result = await runPeak(s.url, durationS, connections, s.headers);
  return { result, cpuUsPerRequest: (treeCpuUs(s.pid) - before) / result.requests };
}

/**
 * Starts the named competitors side by side (an idle one costs nothing),
 * warms each the way the peak phase does, runs `measure` on them and stops
 * them, so alternating rounds put a shared machine's noise on every side.
 */
async function sideBySide<T>(
  names: readonly string[],
  origin: string,
  workDir: string,
  measure: (servers: RunningServer[]) => Promise<T>,
): Promise<T> {
  const servers: RunningServer[] = [];
  try {
    for (const name of names) servers.push(await findCompetitor(name).start(origin, workDir));
    for (const s of servers) await runPeak(s.url, warmupS, connections, s.headers);
    return await measure(servers);
  } finally {
    for (const s of servers) await s.stop();
  }
}

async function main(): Promise<void> {
  installCleanup();
  await probeKafka();
  const generator = peakGenerator();
  const workDir = newWorkDir();
  const header =
    `Peak load: ${generator}${generator === 'wrk' ? ' (1 thread)' : ''}, ${connections} connections, ` +
    `${durationS} s after ${warmupS} s warm-up, ${cpus().length} CPUs, ${pinningNote()}, node ${process.version}`;
  console.log(header);
  // autocannon is a Node process: on 2 cores it takes much of the core it shares with the upstream.
  if (generator === 'autocannon')
    console.log(
      'note: wrk is not installed, so autocannon makes the peak load; install ' +
        'wrk (Debian: apt-get install wrk) to measure as docs/performance.md does',
    );
  const upstream = await startUpstream(workDir);
  const origin = new URL(upstream.url).origin;
  let keepLogs = false;
  try {
    const rows: PeakRow[] = [];
    // BENCH_ONLY=bare-undici,tollgate measures just those (faster iteration; the checks need both).
    const only = process.env.BENCH_ONLY?.split(',');
    for (const c of competitors.filter((x) => !only || only.includes(x.name))) {
      console.log(`  measuring ${c.name} ...`);
      rows.push(await measurePeak(c, origin, workDir));
    }
    console.log('  measuring alternating peak rounds against bare-undici ...');
    const pairs = await paired(rows, origin, workDir);
    console.log('  measuring p99 at half load ...');
    const half = await halfLoad(rows, origin, workDir);
    const pathCost = measurePathCost();
    // The cluster collector, Kafka → ClickHouse + Redis, on one core (test/bench/analytics/collector.bench.ts);
    // skipped with a note when the services are not running. BENCH_COLLECTOR_EVENTS=0 leaves it out.
    console.log('  measuring the cluster collector ...');
    const collector = process.env.BENCH_COLLECTOR_EVENTS === '0' ? undefined : await collectorBench();
    const checks = [...buildChecks(rows, half, pairs, pathCost.canonicalNs), ...collectorChecks(collector)];
    const printed = captured(() => {
      printPeakTable(rows, header);
      printPaired(pairs, durationS);
      printHalfLoad(half, connections, durationS, rateWarmupS, halfLoadRounds);
      console.log(
        `\npath handling: ${pathCost.canonicalNs.toFixed(1)} ns per canonical path (previous fast path ` +
          `${pathCost.previousNs.toFixed(1)} ns), ${pathCost.spelledNs.toFixed(0)} ns per path to canonicalise`,
      );
      if (collector) printCollector(collector);
      printChecks(checks);
    });
    // A run of every competitor with the default settings is the one the docs show; BENCH_WRITE_DOCS=1 forces it.
    const settings = benchEnv();
    if (process.env.BENCH_WRITE_DOCS === '1' || settings === '') {
      const command = settings === '' ? 'npm run bench' : `${settings} npm run bench`;
      writePerformanceDoc(printed, command, `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, commit ${gitCommit()}`);
      console.log('wrote the results into docs/performance.md');
    }
    const file = writeResults({
      at: new Date().toISOString(),
      settings: {
        generator,
        durationS,
        warmupS,
        rateWarmupS,
        connections,
        halfLoadRounds,
        pairedRounds: pairs.rounds.length,
        cpus: cpus().length,
        pinning: pinningNote(),
        node: process.version,
      },
      peak: rows,
      paired: pairs,
      halfLoad: half,
      pathCost,
      collector,
      checks,
    });
    console.log(`\nwrote ${file}`);
    keepLogs = rows.some((r) => r.note?.startsWith('failed'));
  } finally {
    await upstream.stop();
  }
  if (keepLogs) console.log(`logs kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}

/** `npm run bench -- --instructions`: instructions per request under callgrind (instructions.ts). */
async function instructions(): Promise<void> {
  const { runInstructions, printInstructions } = await import('./instructions.ts');
  const rows = await runInstructions();
  printInstructions(rows);
  const file = writeResults({ at: new Date().toISOString(), node: process.version, rows }, 'instructions-latest');
  console.log(`\nwrote ${file}`);
}

// `--analytics[=…]`, `--protocols`, `--websocket`, `--tcp`, `--tracing` run the benches of those test/bench/ folders.
const { analyticsSelection, runAnalytics } = await import('./analytics/run.ts');
const analytics = analyticsSelection(process.argv.slice(2));
if (analytics) {
  installCleanup();
  await runAnalytics(analytics);
  process.exit(0);
} else if (['--protocols', '--websocket', '--tcp', '--tracing'].some((flag) => process.argv.includes(flag))) {
  if (process.argv.includes('--protocols')) await (await import('./protocols/run.ts')).protocolsCommand();
  else if (process.argv.includes('--websocket')) await (await import('./websocket/run.ts')).websocketCommand();
  else if (process.argv.includes('--tracing')) await (await import('./tracing/run.ts')).tracingCommand();
  else await (await import('./tcp/run.ts')).tcpCommand();
  process.exit(0);
} else if (process.argv.includes('--cpu-side-by-side')) {
  // `npm run bench -- --cpu-side-by-side`: CPU per request of servers running at once at one rate (concurrent-cpu.ts).
  installCleanup();
  const { runSideBySide, printSideBySide } = await import('./concurrent-cpu.ts');
  const result = { at: new Date().toISOString(), node: process.version, ...(await runSideBySide()) };
  printSideBySide(result);
  console.log(`\nwrote ${writeResults(result, 'side-by-side-latest')}`);
  process.exit(0);
} else if (process.argv.includes('--instructions')) {
  installCleanup();
  await instructions();
  process.exit(0);
} else await main();
