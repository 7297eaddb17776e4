/** How often the primary looks; a worker is killed at most this much after its limit. */
export const WATCHDOG_TICK_MS = 500;

/**
 * Finds proxy workers whose event loop is stuck, as Envoy's watchdog does for
 * its threads. A worker sends the primary its health view every 0.5 s from
 * its event loop, and a sliced apply or a saturated loop still turns it every
 * few milliseconds; one the primary has heard nothing from for `limitMs()`
 * (`worker_watchdog_ms`, read at each look so a reload changes it) is stuck
 * (an endless loop, a stopped process) and holds the connections it accepted
 * and every config roll-out waiting on its ack. `kill` gets it; the primary's
 * exit handler starts another.
 *
 * A look that comes late means the primary's own loop was blocked: what the
 * workers sent meanwhile is still unread in the IPC pipes (timers run before
 * the loop polls them), so every worker gets a fresh start rather than being
 * taken for silent.
 */
export class WorkerWatchdog {
  readonly #heard = new Map<number, number>();
  readonly #limitMs: () => number;
  readonly #kill: (id: number, silentMs: number) => void;
  readonly #now: () => number;
  #lastLook: number;

  constructor(
    limitMs: () => number,
    kill: (id: number, silentMs: number) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#limitMs = limitMs;
    this.#kill = kill;
    this.#now = now;
    this.#lastLook = now();
  }

  /** Worker `id` sent something: from its first message after it listens, it is watched. */
  heard(id: number): void {
    this.#heard.set(id, this.#now());
  }

  /** Worker `id` exited: no longer watched. */
  forget(id: number): void {
    this.#heard.delete(id);
  }

  look(): void {
    const now = this.#now();
    const late = now - this.#lastLook > WATCHDOG_TICK_MS + 1000;
    this.#lastLook = now;
    if (late) {
      for (const id of this.#heard.keys()) this.#heard.set(id, now);
      return;
    }
    const limit = this.#limitMs();
    if (limit === 0) return;
    for (const [id, at] of this.#heard) {
      if (now - at < limit) continue;
      this.#heard.delete(id);
      this.#kill(id, now - at);
    }
  }

  /** Looks every WATCHDOG_TICK_MS until the returned function is called. */
  start(): () => void {
    this.#lastLook = this.#now();
    const timer = setInterval(() => this.look(), WATCHDOG_TICK_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}
