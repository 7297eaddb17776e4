import { createHook } from 'node:async_hooks';

/**
 * Keeps one `process.nextTick` queue entry alive for the life of the process,
 * so V8 keeps the hidden class every entry is built with.
 *
 * Node makes each entry from one object literal with computed (symbol) keys.
 * When a full GC finds no entry alive (start-up, the memory-reducing GC in
 * command.ts, any quiet spell) and the root object shape is crowded with
 * transitions (fastify's ajv compile of the admin routes' schemas adds
 * hundreds; the config schema's compile, now done ahead of time, added
 * ~1,300), V8 builds a
 * new hidden class at the next tick. After a few rounds the literal's inline
 * cache is megamorphic for good and every nextTick, several per proxied
 * request, goes through `Runtime_DefineKeyedOwnPropertyInLiteral`: nextTick's
 * share of the gateway's CPU went from 1.1% to 5–6% and throughput fell with
 * it (docs/performance.md). Holding one entry keeps its hidden class and the
 * transition to it, so the cache stays monomorphic.
 *
 * Still measured: the proxy thread's CPU per proxied request was 40.9 µs
 * without the pin against 34.4 µs with it (23.8k against 28.5k req/s; events
 * off, server pinned to one CPU, wrk -c50, six alternating 8 s rounds of two
 * builds, per-thread CPU from each /proc/PID/task/TID/stat). The literal is Node's
 * (lib/internal/process/task_queues.js), so the cause is out of our reach.
 *
 * The pin must come before that compile: once the root shape is crowded, a
 * fresh entry gets a hidden class of its own that no later entry shares. So
 * this module pins on import, and cli.ts imports it before anything else.
 * An entry is only visible to an async hook; this one is enabled for a
 * single nextTick and disabled again.
 */
let pinned: object | undefined;

export function pinTickShape(): object {
  if (pinned === undefined) {
    const hook = createHook({
      init(_id, type, _trigger, resource) {
        if (type === 'TickObject' && pinned === undefined) pinned = resource as object;
      },
    });
    hook.enable();
    process.nextTick(noop);
    hook.disable();
  }
  return pinned!;
}

function noop(): void {}

pinTickShape();
