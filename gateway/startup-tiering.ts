import { setFlagsFromString } from 'node:v8';

/**
 * Start-up runs code that never runs again (YAML parsing, the config and
 * route schema compiles, fastify's route building) hot enough for V8 to
 * optimise it with Maglev and TurboFan. That work is thrown away, but it
 * leaves the optimised code, the compilers' memory and their pages of the
 * node binary resident: ~3-4 MB of idle RSS (README, Performance).
 *
 * So a gateway process starts with both optimising tiers off (interpreter and
 * Sparkplug only) and turns them back on with `endStartupTiering()` once it
 * listens; a timer does it anyway if start-up takes longer than
 * BACKSTOP_MS. Type feedback gathered in the meantime is kept, so the request
 * path is optimised as soon as traffic makes it hot.
 *
 * An operator who sets any of V8's tiering flags keeps them: nothing is
 * toggled. cli.ts, the process entry, imports this module second, after tick-shape.ts, so the
 * tiers are off before the rest of the gateway loads.
 */
const TIERING_FLAG = /--(no-)?(turbofan|maglev|opt|max-opt|jitless|always-turbofan|always-osr|sparkplug)\b/;
const BACKSTOP_MS = 30_000;

export function operatorSetsTiering(execArgv: readonly string[], nodeOptions: string): boolean {
  return TIERING_FLAG.test(`${execArgv.join(' ')} ${nodeOptions}`.replaceAll('_', '-'));
}

let deferred = false;

function deferOptimisation(): void {
  if (operatorSetsTiering(process.execArgv, process.env.NODE_OPTIONS ?? '')) return;
  setFlagsFromString('--no-turbofan');
  setFlagsFromString('--no-maglev');
  deferred = true;
  setTimeout(endStartupTiering, BACKSTOP_MS).unref();
}

/** Turns Maglev and TurboFan back on (idempotent; a no-op when the operator set tiering flags). */
export function endStartupTiering(): void {
  if (!deferred) return;
  deferred = false;
  setFlagsFromString('--turbofan');
  setFlagsFromString('--maglev');
}

/** True while start-up runs without the optimising tiers. */
export const startupTieringDeferred = (): boolean => deferred;

deferOptimisation();
