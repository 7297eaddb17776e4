// Per-request cost of the breaker, the retry budget and the canary stage, as the proxy calls them.
// Usage: node --expose-gc --max-semi-space-size=1024 test/bench/stages/resilience.bench.ts
// (the large semi-space keeps GC out of the timed loops, so the heap delta is the allocation per request).
import { Registry } from 'prom-client';
import { createGatewayMetrics } from '../../../gateway/metrics.ts';
import { canary } from '../../../gateway/proxy/stages/canary/index.ts';
import type { CompiledRoute } from '../../../gateway/proxy/snapshot.ts';
import type { RequestContext } from '../../../gateway/proxy/context.ts';
import { CircuitBreaker } from '../../../gateway/proxy/upstream/breaker.ts';
import { RetryBudget } from '../../../gateway/proxy/upstream/retry-budget.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const N = 3_000_000;

function measure(name: string, fn: (i: number) => void): void {
  for (let i = 0; i < 200_000; i++) fn(i);
  const reps: [number, number][] = [];
  for (let r = 0; r < 5; r++) {
    gc();
    const heap = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn(i);
    reps.push([Number(process.hrtime.bigint() - t0) / N, (process.memoryUsage().heapUsed - heap) / N]);
  }
  reps.sort((a, b) => a[0] - b[0]);
  console.log(
    `${name.padEnd(36)} ${reps[2][0].toFixed(1).padStart(7)} ` +
      `ns/request  ${reps[2][1].toFixed(2)} B/request (median of 5)`,
  );
}

type Pool = { breaker: CircuitBreaker | undefined; retryBudget: RetryBudget | undefined };
class Ctx {
  startMs = performance.now();
}
const ctxs = Array.from({ length: 1000 }, () => new Ctx());
const options = {
  minRequests: 20,
  errorRatio: 0.5,
  windowMs: 10000,
  openMs: 5000,
  halfOpenProbes: 3,
  failureStatuses: [500, 502, 503, 504],
};

/** What Exchange.start and onResponseStart do with them. */
function proxyPath(p: Pool, ctx: Ctx): void {
  const b = p.breaker;
  const rb = p.retryBudget;
  if (b !== undefined || rb !== undefined) {
    if (b !== undefined && !b.allow(ctx.startMs)) return;
    rb?.request(ctx.startMs);
  }
  if (p.breaker !== undefined) p.breaker.record(performance.now(), 200);
}

const off: Pool = { breaker: undefined, retryBudget: undefined };
const budgetOnly: Pool = {
  breaker: undefined,
  retryBudget: new RetryBudget({ ratio: 0.2, minPerS: 10, windowMs: 10000 }),
};
const both: Pool = {
  breaker: new CircuitBreaker(options),
  retryBudget: new RetryBudget({ ratio: 0.2, minPerS: 10, windowMs: 10000 }),
};
measure('breaker off, retries 0', (i) => proxyPath(off, ctxs[i % 1000]));
measure('retry budget (default)', (i) => proxyPath(budgetOnly, ctxs[i % 1000]));
measure('breaker + retry budget', (i) => proxyPath(both, ctxs[i % 1000]));
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) performance.now();
console.log(
  `${'  of which performance.now()'.padEnd(36)} ` +
    `${(Number(process.hrtime.bigint() - t0) / N).toFixed(1).padStart(7)} ns`,
);

function canaryHandler(sticky: Record<string, string>) {
  const route = {
    service: {
      name: 'svc',
      config: {
        canary: { stable_weight: 90, sticky, force_header: { name: 'x-canary', value: 'always' }, groups: [] },
      },
      groups: [
        { name: 'stable', weight: 90, upstream: {} },
        { name: 'beta', weight: 10, upstream: {} },
      ],
    },
    runtime: { metrics: createGatewayMetrics(new Registry()) },
  } as unknown as CompiledRoute;
  return canary.init(route)!;
}
for (const [name, sticky, headers, appId] of [
  ['canary, weighted (no key)', { source: 'none' }, { host: 'a' }, ''],
  ['canary, sticky app', { source: 'app' }, { host: 'a' }, 'app-12345'],
  [
    'canary, sticky cookie',
    { source: 'cookie', name: 'sid' },
    { host: 'a', cookie: 'theme=dark; sid=abcdef123456' },
    '',
  ],
] as const) {
  const h = canaryHandler(sticky);
  const ctx = { headers, appId, upstream: undefined } as unknown as RequestContext;
  measure(name, () => h(ctx));
}
