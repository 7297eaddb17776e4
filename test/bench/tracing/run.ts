// `npm run bench -- --tracing`: what tracing costs. Tollgate with tracing off, on at 1% and at 100% sampling (its
// own spans), and at 100% by the SDK's automatic http + undici instrumentation instead, all exporting over
// OTLP/HTTP to a receiver that keeps nothing (otlp-sink.ts): alternating peak rounds (wrk, BENCH_TRACING_ROUNDS,
// default 6, of BENCH_DURATION_S) judged as req/s ÷ tracing off, median with its 95% interval; then p99 at half of
// the off variant's peak, in alternating rounds too. Targets: ≥ 0.97 at 1%, ≥ 0.80 at 100%. Last, CPU per request of
// the own-span variants running at once at one fixed rate (concurrent-cpu.ts): a shared machine's noise moves peak
// rounds by 10-30%, but falls on every server of a side-by-side window alike, so a cost of a few percent shows there.
import { join } from 'node:path';
import { runPeak, runRate } from '../load.ts';
import { installCleanup, spawnTracked, stopTracked } from '../procs.ts';
import { pinningNote } from '../cpu-pin.ts';
import { freePort } from '../ready.ts';
import { describe, median, medianEstimate } from '../report.ts';
import { finishRun } from '../performance-doc.ts';
import { measurePass } from '../concurrent-cpu.ts';
import { metric } from '../../helpers/metrics.ts';
import { newWorkDir, repoRoot, startUpstream, tollgateVariant, type Competitor } from '../servers.ts';

const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const rounds = Number(process.env.BENCH_TRACING_ROUNDS ?? 6);
const connections = 50;
const cpuWindows = Number(process.env.BENCH_SIDE_WINDOWS ?? 6);

const traced = (name: string, tracing: Record<string, unknown>) =>
  tollgateVariant(name, { sink: 'none' }, undefined, (c) => {
    (c as Record<string, unknown>).tracing = tracing;
  });
/** The variants, the first the base every ratio divides by. */
const VARIANTS: Array<{ name: string; competitor: Competitor; env?: Record<string, string> }> = [
  { name: 'tracing off', competitor: traced('tracing-off', { enabled: false }) },
  { name: 'own spans 1%', competitor: traced('tracing-1', { enabled: true, sample_ratio: 0.01 }) },
  { name: 'own spans 100%', competitor: traced('tracing-100', { enabled: true, sample_ratio: 1 }) },
  {
    name: 'auto-instrumentation 100%',
    competitor: traced('tracing-auto', { enabled: false }),
    env: {
      NODE_OPTIONS: `--import=${join(repoRoot, 'test/bench/tracing/auto-instrument.ts')}`,
    },
  },
];

export interface TracingResults {
  names: string[];
  /** Per variant, req/s per round. */
  peak: number[][];
  /** Per variant, p99 ms per half-load round. */
  p99: number[][];
  halfRps: number;
  /** Per own-span variant (VARIANTS' first three), CPU µs per request per side-by-side window. */
  cpuUs: number[][];
  cpuRps: number;
  /** Per variant, over the peak rounds: spans dropped because the export queue was full, and requests served. */
  dropped: number[];
  served: number[];
}

async function withServer<T>(
  v: (typeof VARIANTS)[number],
  origin: string,
  workDir: string,
  f: (url: string, adminUrl?: string) => Promise<T>,
) {
  const saved = { ...process.env };
  Object.assign(process.env, v.env ?? {});
  try {
    const server = await v.competitor.start(origin, workDir);
    try {
      return await f(server.url, server.adminUrl);
    } finally {
      await server.stop();
    }
  } finally {
    process.env = saved;
  }
}

/**
 * Seconds of load before a round is measured (peak or p99): start-up effects (compiling the request path, the heap
 * growing) are not steady state, and neither is the first export, which a 1% variant makes OTEL_BSP_SCHEDULE_DELAY
 * (5 s) after its first span; it stalls a gateway held to one core by 12-40 ms two or three times (docs/tracing.md).
 */
const WARMUP_S = 7;

export async function runTracing(): Promise<TracingResults> {
  installCleanup();
  const workDir = newWorkDir();
  const sinkPort = await freePort();
  const sink = spawnTracked(process.execPath, [join(repoRoot, 'test/bench/tracing/otlp-sink.ts'), String(sinkPort)], {
    logFile: join(workDir, 'otlp-sink.log'),
    cwd: repoRoot,
  });
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${sinkPort}`;
  const upstream = await startUpstream(workDir);
  const origin = new URL(upstream.url).origin;
  const result: TracingResults = {
    names: VARIANTS.map((v) => v.name),
    peak: VARIANTS.map(() => []),
    p99: VARIANTS.map(() => []),
    halfRps: 0,
    cpuUs: [],
    cpuRps: Number(process.env.BENCH_SIDE_RPS ?? 3000),
    dropped: VARIANTS.map(() => 0),
    served: VARIANTS.map(() => 0),
  };
  try {
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const i = (r + k) % VARIANTS.length;
        console.log(`  peak round ${r + 1}: ${VARIANTS[i].name} ...`);
        result.peak[i].push(
          await withServer(VARIANTS[i], origin, workDir, async (url, adminUrl) => {
            const warm = await runPeak(url, WARMUP_S, connections);
            const peak = await runPeak(url, durationS, connections);
            // A span dropped is dropped at once: the count is whole when the load stops.
            if (adminUrl)
              result.dropped[i] += await metric({ adminUrl }, 'tollgate_tracing_spans_total', 'result="dropped"');
            result.served[i] += warm.requests + peak.requests;
            return peak.rps;
          }),
        );
      }
    }
    result.halfRps = median(result.peak[0]) / 2;
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const i = (r + k) % VARIANTS.length;
        console.log(`  p99 round ${r + 1} at ${Math.round(result.halfRps)} req/s: ${VARIANTS[i].name} ...`);
        result.p99[i].push(
          await withServer(
            VARIANTS[i],
            origin,
            workDir,
            async (url) => (await runRate(url, result.halfRps, connections, durationS, WARMUP_S)).p99Ms,
          ),
        );
      }
    }
    const own = VARIANTS.filter((v) => v.env === undefined).map((v) => v.competitor);
    console.log(`  CPU per request side by side at ${result.cpuRps} req/s each ...`);
    const passes = [
      await measurePass(own, origin, workDir, Math.ceil(cpuWindows / 2)),
      await measurePass([...own].reverse(), origin, workDir, Math.floor(cpuWindows / 2)),
    ];
    result.cpuUs = own.map((c) => passes.flatMap((pass) => pass.get(c.name)?.cpuUs ?? []));
    const notes = passes.flatMap((pass) => [...pass.values()].flatMap((row) => (row.note ? [row.note] : [])));
    if (notes.length) console.log(`  side by side: ${notes.join('; ')}`);
    return result;
  } finally {
    await upstream.stop();
    await stopTracked(sink);
  }
}

export function printTracing(r: TracingResults): void {
  if (r.peak[0].length > 0) printPeaks(r);
  if (r.cpuUs.length > 0) printCpu(r);
}

function printPeaks(r: TracingResults): void {
  console.log(
    `\nTracing cost: wrk (1 thread, ${connections} connections), ` +
      `${r.peak[0].length} alternating rounds of ${durationS} s, ` +
      `events off, spans to an OTLP/HTTP receiver that keeps nothing (${pinningNote()})`,
  );
  console.log('variant                        req/s   ÷ off [95% CI]          p99 at half load   p99 − off');
  const base = r.peak[0];
  const targets: Record<string, number> = { 'own spans 1%': 0.97, 'own spans 100%': 0.8 };
  for (let i = 0; i < r.names.length; i++) {
    const ratio = medianEstimate(r.peak[i].map((v, j) => v / base[j]))!;
    const p99 = median(r.p99[i]);
    const diff = medianEstimate(r.p99[i].map((v, j) => v - r.p99[0][j]))!;
    const target = targets[r.names[i]];
    const verdict =
      target === undefined || ratio.interval === undefined
        ? ''
        : ratio.interval[0] >= target
          ? `target ≥ ${target}: PASS`
          : ratio.interval[1] < target
            ? `target ≥ ${target}: MISS`
            : `target ≥ ${target}: WITHIN NOISE`;
    console.log(
      `${r.names[i].padEnd(27)} ${String(Math.round(median(r.peak[i]))).padStart(8)}   ${describe(ratio).padEnd(22)}` +
        `   ${p99.toFixed(2).padStart(8)} ms   ${i === 0 ? '' : `${describe(diff)} ms`}  ${verdict}`,
    );
  }
  console.log(
    `half load: ${Math.round(r.halfRps)} req/s (half of tracing off's peak), open loop; ` +
      `every round after ${WARMUP_S} s of load`,
  );
  const drops = r.names.map((name, i) => `${name} ${r.dropped[i]} of ${r.served[i]} requests' spans`).slice(1, 3);
  console.log(`spans dropped in the peak rounds (export queue full): ${drops.join('; ')}`);
}

function printCpu(r: TracingResults): void {
  console.log(
    `CPU per request, the own-span variants at once, each at ${r.cpuRps} req/s (open loop), ` +
      `${r.cpuUs[0].length} windows (half started in reverse order)`,
  );
  for (let i = 0; i < r.cpuUs.length; i++) {
    const ratio = medianEstimate(r.cpuUs[i].map((v, j) => v / r.cpuUs[0][j]));
    console.log(
      `${r.names[i].padEnd(27)} ${median(r.cpuUs[i]).toFixed(1).padStart(8)} µs   ` +
        (i === 0 || ratio === undefined ? '' : `÷ off ${describe(ratio)}`),
    );
  }
}

export async function tracingCommand(): Promise<void> {
  const result = await runTracing();
  finishRun('--tracing', 'tracing-results', 'tracing-latest', result, () => printTracing(result));
}
