// Fallback load generator when wrk is absent, in its own process so it does not share the runner's event loop;
// with AMOUNT, exactly that many requests and no duration (the instruction counts, instructions.ts).
// Usage: node test/bench/autocannon-load.ts URL CONNECTIONS DURATION_S [HEADERS_JSON] [AMOUNT]
import { createRequire } from 'node:module';

interface AutocannonResult {
  requests: { total: number };
  duration: number;
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  amount?: number;
  timeout?: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;

// autocannon ships no types; load it through require with the shape we read.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const [url, connections, durationS, headers, amount] = process.argv.slice(2);
const r = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(durationS),
  headers: headers ? (JSON.parse(headers) as Record<string, string>) : {},
  // A count waits for every answer: under callgrind with its cache simulation, on two cores shared with other
  // tests, a request took over autocannon's default 10 s, and its timeout failed a CI run (4 errors in 400).
  ...(amount ? { amount: Number(amount), timeout: 120 } : {}),
});
console.log(
  'BENCH_JSON ' +
    JSON.stringify({
      requests: r.requests.total,
      durationUs: Math.round(r.duration * 1e6),
      p50Us: r.latency.p50 * 1000,
      p99Us: r.latency.p99 * 1000,
      errors: r.errors + r.timeouts,
      non2xx: r.non2xx,
    }),
);
