import { RollingWindow } from './rolling-window.ts';

export interface RetryBudgetOptions {
  /** Retries allowed per request, over the window (0.2 = one retry per five requests). */
  ratio: number;
  /** Retries always allowed per second, so a quiet upstream can still retry. */
  minPerS: number;
  windowMs: number;
}

/**
 * Retries may not multiply an outage (Finagle's RetryBudget, Envoy's
 * retry_budget): over the last `windowMs`, retries stay at or under
 * `ratio × requests + minPerS × window seconds`. When every target refuses,
 * the upstream sees about (1 + ratio) × the offered load instead of
 * (1 + retries) ×. One per UpstreamPool; O(1), allocation-free per request.
 */
export class RetryBudget {
  private readonly window: RollingWindow;
  private readonly ratio: number;
  private readonly reserve: number;

  constructor(options: RetryBudgetOptions) {
    this.window = new RollingWindow(options.windowMs);
    this.ratio = options.ratio;
    this.reserve = options.minPerS * (options.windowMs / 1000);
  }

  /** A first attempt (not a retry). */
  request(now: number): void {
    this.window.add(now, 1, 0);
  }

  /** True when the budget has room for one more retry; spends nothing (a retry may yet find no target to go to). */
  hasRoom(now: number): boolean {
    const w = this.window;
    w.advance(now);
    return w.sumB + 1 <= this.ratio * w.sumA + this.reserve;
  }

  /** A retry sent, asked for with hasRoom at the same `now`. */
  spend(now: number): void {
    this.window.add(now, 0, 1);
  }
}
