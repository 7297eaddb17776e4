/**
 * What an unsampled request's tracing costs the request path: its server span started (the sampling decision says
 * no), its traceparent set on the upstream request's headers, the span ended, on a request context built as the
 * proxy's is for these calls; beside the same calls with tracing off. Prints ns and bytes allocated a request (the
 * heap's growth over runs of 1,000 requests that no collection fell in). Run:
 * node test/bench/tracing/unsampled.bench.ts
 */
import { getHeapStatistics } from 'node:v8';
import type { RequestContext } from '../../../gateway/proxy/context.ts';
import type { Target } from '../../../gateway/proxy/upstream/target.ts';
import { endServerSpan, startAttempt } from '../../../gateway/proxy/tracing/spans.ts';

const tracing = {
  sampled: () => false,
  startSpan: () => {
    throw new Error('an unsampled request starts no span');
  },
};
const on = { runtime: { tracing }, config: { tracing: { trust_incoming: true } } };
const off = { runtime: { tracing: undefined }, config: { tracing: { trust_incoming: true } } };
const route = { config: { trust_trace_context: undefined, paths: ['/api'] } };
const target = {} as Target;
let sink = 0;

function request(snapshot: typeof on | typeof off): RequestContext {
  return {
    span: undefined,
    snapshot,
    route,
    headers: { host: 'api.example.test', 'user-agent': 'wrk' },
    upstreamHeaders: { host: 'api.example.test', 'user-agent': 'wrk', 'x-forwarded-for': '127.0.0.1' },
  } as unknown as RequestContext;
}

/** The calls the proxy makes for every request, with tracing off or on. */
const loop = (snapshot: typeof on | typeof off) => (n: number) => {
  for (let i = 0; i < n; i++) {
    const ctx = request(snapshot);
    startAttempt(ctx, target, 0);
    sink += endServerSpan(ctx, 200).length + ctx.upstreamHeaders.host.length;
  }
};
const loops = { 'tracing off': loop(off), unsampled: loop(on) };

/** Median bytes a request over runs of 1,000, leaving out the runs a collection shrank the heap in. */
function bytesPerRequest(loop: (n: number) => void): number {
  const grown: number[] = [];
  for (let run = 0; run < 200; run++) {
    const before = getHeapStatistics().used_heap_size;
    loop(1000);
    const growth = getHeapStatistics().used_heap_size - before;
    if (growth > 0) grown.push(growth / 1000);
  }
  grown.sort((a, b) => a - b);
  return grown[grown.length >> 1];
}

const N = 3_000_000;
for (let round = 0; round < 3; round++) {
  const line: string[] = [];
  for (const [name, loop] of Object.entries(loops)) {
    loop(100_000);
    const start = performance.now();
    loop(N);
    const ns = ((performance.now() - start) * 1e6) / N;
    line.push(`${name}: ${ns.toFixed(0)} ns, ${bytesPerRequest(loop).toFixed(0)} bytes a request`);
  }
  console.log(line.join('; '));
}
if (sink === 0) console.log(sink);
