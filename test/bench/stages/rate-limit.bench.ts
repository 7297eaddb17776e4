/**
 * Per-request cost of the rate-limit stage on its own: the local token bucket
 * + quota (synchronous) and the Redis-backed bucket (one round trip). For
 * Redis the CPU per check (process.cpuUsage) is the figure to compare: wall
 * time on a shared host is mostly waiting, CPU is what a gateway pays.
 * Run: node test/bench/stages/rate-limit.bench.ts [redis-url]
 */
import type { RequestContext } from '../../../gateway/proxy/context.ts';
import { createGatewayMetrics } from '../../../gateway/metrics.ts';
import { createLogger } from '../../../gateway/log.ts';
import { createRuntime } from '../../../gateway/proxy/runtime.ts';
import type { CompiledRoute } from '../../../gateway/proxy/snapshot.ts';
import { compilePolicies } from '../../../gateway/proxy/stages/rate-limit/compile.ts';
import { RouteLimiter } from '../../../gateway/proxy/stages/rate-limit/route-limiter.ts';

const redisUrl = process.argv[2] ?? process.env.TOLLGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6399';
const runtime = createRuntime(createGatewayMetrics(), createLogger('silent'));
const store = {
  redis_url: redisUrl,
  prefix: `bench-${process.pid}:`,
  timeout_ms: 50,
  insurance_fraction: 1,
  max_keys: 100_000,
};
const routeWith = (policies: unknown[]) =>
  ({
    name: 'r',
    config: {},
    service: { name: 's', config: { name: 's', rate_limits: policies } },
    runtime,
    snapshotConfig: { rate_limit: store },
  }) as unknown as CompiledRoute;
const big = 1_000_000_000;
const defaults = { routes: [], time_zone: 'UTC', on_redis_error: 'open' };
const ctx = {
  startMs: 0,
  clientIp: '10.0.0.1',
  appId: '',
  app: undefined,
  errorCode: undefined,
  upstreamStatus: 200,
  onDone: undefined,
} as unknown as RequestContext;

function bench(name: string, n: number, fn: () => void): void {
  for (let i = 0; i < 10_000; i++) fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  console.log(`${name}: ${(((performance.now() - t) * 1e6) / n).toFixed(0)} ns/request`);
}

const local = new RouteLimiter(
  compilePolicies(routeWith([{ ...defaults, name: 'q', key: 'client_ip', qps: big, backend: 'local' }])),
);
bench('local qps (client_ip key)', 2_000_000, () => {
  (ctx as { startMs: number }).startMs = performance.now();
  local.checkLocal(ctx);
});
const both = new RouteLimiter(
  compilePolicies(routeWith([{ ...defaults, name: 'qd', key: 'client_ip', qps: big, qpd: big, backend: 'local' }])),
);
bench('local qps + qpd (client_ip key, incl. the done refund check)', 2_000_000, () => {
  (ctx as { startMs: number }).startMs = performance.now();
  both.checkLocal(ctx);
  ctx.onDone!(ctx, 200);
});

const shared = new RouteLimiter(
  compilePolicies(routeWith([{ ...defaults, name: 'rq', key: 'client_ip', qps: big, backend: 'redis' }])),
);
await new Promise((r) => setTimeout(r, 300));
// Warm-up: the first checks load the script and compile the path.
for (let i = 0; i < 5_000; i++) await shared.checkShared(ctx);
for (const concurrency of [1, 4, 16, 64]) {
  const total = 20_000;
  let done = 0;
  let errorsOpen = 0;
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < total) {
        done++;
        (ctx as { startMs: number }).startMs = performance.now();
        await shared.checkShared(ctx);
      }
    }),
  );
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  errorsOpen = shared.policies[0].state.decisions[3];
  console.log(
    `redis qps, concurrency ${concurrency}: ${((ms * 1000) / total).toFixed(1)} µs/request wall, ` +
      `${((cpu.user + cpu.system) / total).toFixed(1)} µs CPU/request ` +
      `(${Math.round(total / (ms / 1000))} checks/s), error_open so far ${errorsOpen}`,
  );
}
for (const c of runtime.closers) await c();
