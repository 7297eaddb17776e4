// Throughput of synchronous operations, compared in the same run. Rounds of
// the competitors are interleaved and each reports its median round, so a
// noisy neighbour, a GC pause or a JIT tier-up cannot favour one of them.
const warmupMs = Number(process.env.BENCH_EVENTS_WARMUP_MS ?? 300);
const roundMs = Number(process.env.BENCH_EVENTS_ROUND_MS ?? 300);
const rounds = Number(process.env.BENCH_EVENTS_ROUNDS ?? 7);
// Calls per clock read, so reading the clock stays out of the measured cost.
const batch = 1000;

export type Op = (i: number) => unknown;

/** Median operations per second of each op(i), i counting up from 0, in input order. */
export function compareOpsPerSecond(ops: Op[]): number[] {
  const counters = ops.map(() => 0);
  let sink = 0;
  const run = (k: number, ms: number): number => {
    const op = ops[k];
    let i = counters[k];
    const start = process.hrtime.bigint();
    const stopNs = start + BigInt(ms * 1e6);
    let done = 0;
    let now = start;
    while (now < stopNs) {
      for (let b = 0; b < batch; b++) if (op(i++) === sink) sink++;
      done += batch;
      now = process.hrtime.bigint();
    }
    counters[k] = i;
    return done / (Number(now - start) / 1e9);
  };
  ops.forEach((_, k) => run(k, warmupMs));
  const results = ops.map((): number[] => []);
  for (let r = 0; r < rounds; r++) ops.forEach((_, k) => results[k].push(run(k, roundMs)));
  return results.map((list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]);
}

export function formatOps(opsPerS: number): string {
  return `${(opsPerS / 1e6).toFixed(2)} M/s`.padStart(10);
}
