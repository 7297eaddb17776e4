/**
 * Wall-clock milliseconds for performance.now() readings, for whatever is stamped with the time of day: access
 * events, spans, per-day quotas. `performance.timeOrigin + performance.now()` is the wall clock as it was when the
 * process started, carried on by the monotonic clock. It misses any later step of the system clock (NTP correcting a
 * clock that was wrong at boot, a VM resumed or migrated), so a gateway would stamp every event off by the step, in
 * the wrong hour or day, until it restarted. Here the origin is compared with Date.now() once a second and moved
 * when the two differ by more than MAX_DRIFT_MS. Between moves every time is on one monotonic scale, so durations
 * worked out from them stay exact; a move is no finer than Date.now()'s millisecond.
 */
const CHECK_EVERY_MS = 1000;
/** Below this the clocks are taken to agree: Date.now() is whole milliseconds, and timeOrigin is a few ms off. */
export const MAX_DRIFT_MS = 50;

export class WallClock {
  #originMs: number;
  readonly #dateNow: () => number;
  readonly #perfNow: () => number;

  constructor(originMs: number, dateNow: () => number, perfNow: () => number) {
    this.#originMs = originMs;
    this.#dateNow = dateNow;
    this.#perfNow = perfNow;
  }

  /** What is added to a performance.now() reading now; it moves at a check that finds a step. */
  get originMs(): number {
    return this.#originMs;
  }

  /** The wall-clock time (epoch ms) of `performanceMs`, a performance.now() reading. */
  at(performanceMs: number): number {
    return this.#originMs + performanceMs;
  }

  /** The wall-clock time now, on the same scale as at(). */
  now(): number {
    return this.#originMs + this.#perfNow();
  }

  /** Moves the origin to the system clock if they drifted apart by more than MAX_DRIFT_MS; the drift, else 0. */
  check(): number {
    const drift = this.#dateNow() - this.now();
    if (Math.abs(drift) <= MAX_DRIFT_MS) return 0;
    this.#originMs += drift;
    return drift;
  }
}

/** This thread's clock, checked every second (an unref'd timer: it never keeps a process alive). */
export const wallClock = new WallClock(
  performance.timeOrigin,
  () => Date.now(),
  () => performance.now(),
);
setInterval(() => wallClock.check(), CHECK_EVERY_MS).unref();
