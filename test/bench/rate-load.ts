// Open-loop load at a constant rate: requests leave on a fixed schedule no
// matter how slow replies are, through an undici Pool of fixed size. Latency
// runs from dispatch (on schedule, ±1 ms tick) to the last body byte, so
// time spent queued behind a busy pool counts.
// Usage: node test/bench/rate-load.ts URL RPS CONNECTIONS DURATION_S WARMUP_S
import { Pool } from 'undici';

const [url, rpsArg, connArg, durationArg, warmupArg] = process.argv.slice(2);
const rps = Number(rpsArg);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: Number(connArg), pipelining: 1 });
const drainTimeoutMs = 5000;

interface Phase {
  latenciesMs: Float64Array;
  completed: number;
  errors: number;
  elapsedS: number;
}

function runPhase(durationS: number): Promise<Phase> {
  const total = Math.max(1, Math.round(rps * durationS));
  const latenciesMs = new Float64Array(total);
  let sent = 0;
  let settled = 0;
  let completed = 0;
  let errors = 0;
  const startNs = process.hrtime.bigint();

  return new Promise((resolve) => {
    const finish = () => {
      clearInterval(ticker);
      clearTimeout(drainTimer);
      const elapsedS = Number(process.hrtime.bigint() - startNs) / 1e9;
      resolve({ latenciesMs: latenciesMs.subarray(0, completed), completed, errors, elapsedS });
    };
    const settle = () => {
      if (++settled === total) finish();
    };
    // A raw dispatch handler: no body stream per response, so the generator spends less CPU than the server it
    // measures.
    const send = () => {
      const t0 = process.hrtime.bigint();
      let status = 0;
      pool.dispatch(
        { origin: target.origin, path: target.pathname + target.search, method: 'GET' },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData() {},
          onResponseEnd() {
            if (status === 200) latenciesMs[completed++] = Number(process.hrtime.bigint() - t0) / 1e6;
            else errors++;
            settle();
          },
          onResponseError() {
            errors++;
            settle();
          },
        },
      );
    };
    // 1 ms ticks; each sends what the schedule says is due, so the rate holds even when a tick is late.
    const ticker = setInterval(() => {
      const dueCount = Math.min(total, Math.floor((Number(process.hrtime.bigint() - startNs) / 1e9) * rps));
      while (sent < dueCount) {
        sent++;
        send();
      }
    }, 1);
    const drainTimer = setTimeout(finish, durationS * 1000 + drainTimeoutMs);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

await runPhase(Number(warmupArg));
const measured = await runPhase(Number(durationArg));
const sorted = measured.latenciesMs.sort();
console.log(
  'BENCH_JSON ' +
    JSON.stringify({
      targetRps: rps,
      achievedRps: measured.completed / measured.elapsedS,
      completed: measured.completed,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      errors: measured.errors,
    }),
);
await pool.close();
