import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createGatewayMetrics, DEFAULT_METRICS_BUT_GC } from './metrics.ts';
import { releaseMemory } from './process/memory.ts';

/** Sum of nodejs_gc_duration_seconds_count over its kinds. */
async function gcCount(register: Registry): Promise<number> {
  const metric = (await register.getMetricsAsJSON()).find((m) => m.name === 'nodejs_gc_duration_seconds');
  assert.ok(metric, 'nodejs_gc_duration_seconds is exported');
  return (metric.values as { metricName?: string; value: number }[])
    .filter((v) => v.metricName === 'nodejs_gc_duration_seconds_count')
    .reduce((sum, v) => sum + v.value, 0);
}

test('nodejs_gc_duration_seconds counts every GC, also those Node delivers together in one batch', async () => {
  const { register } = createGatewayMetrics(new Registry());
  let seen = 0;
  let largestBatch = 0;
  const observer = new PerformanceObserver((list) => {
    const n = list.getEntries().length;
    seen += n;
    largestBatch = Math.max(largestBatch, n);
  });
  observer.observe({ entryTypes: ['gc'] });
  await nextTurn();
  const before = await gcCount(register);
  const seenBefore = seen;
  // Back-to-back full GCs in one turn of the loop: Node hands them to
  // observers as one list.
  releaseMemory();
  releaseMemory();
  for (let i = 0; i < 5; i++) await nextTurn();
  observer.disconnect();
  assert.ok(
    largestBatch >= 2,
    `the GCs were not delivered together (largest batch ${largestBatch}); the test proves nothing`,
  );
  assert.equal((await gcCount(register)) - before, seen - seenBefore);
});

test("prom-client's default metrics are all exported, from prom-client's own list less gc", async () => {
  const list = (collectDefaultMetrics as unknown as { metricsList: string[] }).metricsList;
  assert.deepEqual(
    Object.keys(DEFAULT_METRICS_BUT_GC),
    list.filter((name) => name !== 'gc'),
  );
  const theirs = new Registry();
  collectDefaultMetrics({ register: theirs });
  const names = (r: Registry) => r.getMetricsAsArray().map((m) => m.name);
  const ours = new Set(names(createGatewayMetrics(new Registry()).register));
  const missing = names(theirs).filter((name) => !ours.has(name));
  assert.deepEqual(missing, []);
  theirs.clear();
});

test("one GC observer runs: ours, not prom-client's as well", () => {
  const observe = PerformanceObserver.prototype.observe;
  let gcObservers = 0;
  PerformanceObserver.prototype.observe = function (this: PerformanceObserver, options: Parameters<typeof observe>[0]) {
    const types = 'entryTypes' in options ? options.entryTypes : [options.type];
    if (types.includes('gc')) gcObservers++;
    return observe.call(this, options);
  };
  try {
    createGatewayMetrics(new Registry());
  } finally {
    PerformanceObserver.prototype.observe = observe;
  }
  assert.equal(gcObservers, 1);
});
