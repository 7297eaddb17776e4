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
 * Still measured after the config validator went ahead of time: without the
 * pin, tollgate / bare-undici req/s was 0.89 [0.85-0.98] against 0.98
 * [0.95-1.03] with it, CPU per request 1.13 against 1.03 (alternating rounds
 * of `npm run bench`, BENCH_TOLLGATE_CLI_B set to a build with the pin).
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
