import { setFlagsFromString } from 'node:v8';

/**
 * V8's optimising tiers (Maglev and TurboFan) in a gateway process: off while
 * it starts (startup-tiering.ts) and while its data plane is idle, on while it
 * serves.
 *
 * Start-up code runs once, and an idle gateway runs only its health checks,
 * timers and metrics; yet both run hot enough for V8 to optimise them. That
 * work buys nothing, and its first TurboFan compile brings ~4.6 MB of the
 * compilers' pages of the node binary into RSS, where they stay: an idle
 * gateway with the bench's checks (two targets every 500 ms) went from 75 MB
 * to 80-82 MB 90-180 s after its start (docs/performance.md). So the tiers
 * stay off until the first proxied request, and go off again once the data
 * plane has been quiet for a while (IdleTiering). The first request after a
 * quiet spell turns them on before any of its own code runs. Code optimised
 * earlier stays optimised while the tiers are off, and the type feedback
 * gathered meanwhile is kept, so traffic gets its optimised code as soon as
 * it makes it hot.
 *
 * An operator who sets any of V8's tiering flags keeps them: nothing is
 * toggled. Nothing is toggled either in a process that never called
 * manageTiering() (tests that build data planes in their own process).
 */
const TIERING_FLAG = /--(no-)?(turbofan|maglev|opt|max-opt|jitless|always-turbofan|always-osr|sparkplug)\b/;

export function operatorSetsTiering(execArgv: readonly string[], nodeOptions: string): boolean {
  return TIERING_FLAG.test(`${execArgv.join(' ')} ${nodeOptions}`.replaceAll('_', '-'));
}

let managed = false;

/** True while the optimising tiers are off. The data plane reads it on every request. */
export let tieringParked = false;

/** Takes the tiers over and turns them off; false (and nothing changes) when the operator set tiering flags. */
export function manageTiering(): boolean {
  if (operatorSetsTiering(process.execArgv, process.env.NODE_OPTIONS ?? '')) return false;
  managed = true;
  parkTiering();
  return true;
}

/** True once manageTiering() took the tiers over. */
export const tieringManaged = (): boolean => managed;

/** Turns Maglev and TurboFan off (idempotent; a no-op unless managed). */
export function parkTiering(): void {
  if (!managed || tieringParked) return;
  setFlagsFromString('--no-turbofan');
  setFlagsFromString('--no-maglev');
  tieringParked = true;
}

/** Turns Maglev and TurboFan back on (idempotent). */
export function wakeTiering(): void {
  if (!tieringParked) return;
  setFlagsFromString('--turbofan');
  setFlagsFromString('--maglev');
  tieringParked = false;
}

export interface IdleTieringOptions {
  /** Requests the data plane has taken so far (any monotonic count). */
  served: () => number;
  /** Requests in flight: a long response keeps the tiers on. */
  inflight: () => number;
  /** How long no request may arrive before the tiers go off (default 10 s). */
  quietMs?: number;
  /** For tests: what parking does. */
  park?: () => void;
}

/**
 * Parks the tiers once the data plane has taken no request and had none in
 * flight for between quietMs and twice that: one timer, re-armed every quietMs
 * while traffic comes, none while parked. The data plane wakes the tiers on
 * its next request (`if (tieringParked) wakeTiering()`) and calls arm().
 */
export class IdleTiering {
  readonly #served: () => number;
  readonly #inflight: () => number;
  readonly #quietMs: number;
  readonly #park: () => void;
  #timer: NodeJS.Timeout | undefined;
  #lastServed = -1;

  constructor(opts: IdleTieringOptions) {
    this.#served = opts.served;
    this.#inflight = opts.inflight;
    this.#quietMs = opts.quietMs ?? 10_000;
    this.#park = opts.park ?? parkTiering;
  }

  /** Starts watching (idempotent while a timer is armed). */
  arm(): void {
    if (this.#timer !== undefined) return;
    this.#lastServed = this.#served();
    this.#timer = setTimeout(this.#look, this.#quietMs);
    this.#timer.unref();
  }

  readonly #look = (): void => {
    this.#timer = undefined;
    const served = this.#served();
    if (served === this.#lastServed && this.#inflight() === 0) {
      this.#park();
      return;
    }
    this.arm();
  };

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
