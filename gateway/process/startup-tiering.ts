import { manageTiering, wakeTiering } from './tiering.ts';

/**
 * Start-up runs code that never runs again (YAML parsing, the config and
 * route schema compiles, fastify's route building) hot enough for V8 to
 * optimise it with Maglev and TurboFan. That work is thrown away, but it
 * leaves the optimised code, the compilers' memory and their pages of the
 * node binary resident: ~3-4 MB of idle RSS (docs/performance.md).
 *
 * So a gateway process starts with both optimising tiers off (interpreter and
 * Sparkplug only; tiering.ts). `endStartupTiering()` ends start-up once the
 * process listens: a process with a data plane keeps them off until its first
 * request (IdleTiering), the cluster primary turns them on. A timer turns
 * them on anyway if start-up takes longer than BACKSTOP_MS.
 *
 * cli.ts, the process entry, imports this module second, after
 * tick-shape.ts, so the tiers are off before the rest of the gateway loads.
 */
const BACKSTOP_MS = 30_000;

let backstop: NodeJS.Timeout | undefined;

/** Start-up is over; `keepParked`: the process has a data plane, whose first request turns the tiers on. */
export function endStartupTiering(opts: { keepParked?: boolean } = {}): void {
  clearTimeout(backstop);
  backstop = undefined;
  if (opts.keepParked !== true) wakeTiering();
}

if (manageTiering()) {
  backstop = setTimeout(wakeTiering, BACKSTOP_MS);
  backstop.unref();
}
