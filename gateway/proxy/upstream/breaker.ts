import { RollingWindow } from './rolling-window.ts';

export const CLOSED = 0;
export const OPEN = 1;
export const HALF_OPEN = 2;
export type BreakerState = typeof CLOSED | typeof OPEN | typeof HALF_OPEN;
export const stateNames = ['closed', 'open', 'half_open'] as const;

export interface BreakerOptions {
  minRequests: number;
  /** 0..1: failures / outcomes in the window at or above this opens the circuit. */
  errorRatio: number;
  windowMs: number;
  openMs: number;
  halfOpenProbes: number;
  failureStatuses: readonly number[];
}

/**
 * A circuit breaker for one upstream (one UpstreamPool, so it lives exactly as
 * long as the pool and a reload that keeps the pool keeps its state).
 *
 * closed → open when the window holds at least `minRequests` outcomes and the
 * failure ratio reaches `errorRatio`; open → half-open after `openMs`; in
 * half-open `halfOpenProbes` requests go through: that many successes close
 * it, one failure opens it again. A probe whose outcome never comes back (the
 * client left, no target was eligible) would leave it half-open for ever, so
 * after another `openMs` without a verdict a new round of probes is let through.
 *
 * Synchronous and allocation-free per request: the proxy asks `allow(now)`
 * before the first attempt and reports each attempt's outcome once.
 */
export class CircuitBreaker {
  readonly options: BreakerOptions;
  state: BreakerState = CLOSED;
  /** When an open circuit lets probes through (ms, on the caller's clock: performance.now() in the proxy). */
  openUntil = 0;
  private readonly window: RollingWindow;
  private readonly failureStatus: Uint8Array;
  private probesSent = 0;
  private probeOk = 0;
  private probeRoundAt = 0;
  private readonly onTransition: (to: BreakerState) => void;

  constructor(options: BreakerOptions, onTransition: (to: BreakerState) => void = () => undefined) {
    this.options = options;
    this.onTransition = onTransition;
    this.window = new RollingWindow(options.windowMs);
    this.failureStatus = new Uint8Array(600);
    for (const s of options.failureStatuses) this.failureStatus[s] = 1;
  }

  /** May a request go upstream now? False means answer 503 GW_ERR_CIRCUIT_OPEN at once. */
  allow(now: number): boolean {
    if (this.state === CLOSED) return true;
    if (this.state === OPEN) {
      if (now < this.openUntil) return false;
      this.transition(HALF_OPEN);
      this.probesSent = 0;
      this.probeOk = 0;
      this.probeRoundAt = now;
    } else if (this.probesSent >= this.options.halfOpenProbes && now - this.probeRoundAt >= this.options.openMs) {
      this.probesSent = this.probeOk;
      this.probeRoundAt = now;
    }
    if (this.probesSent >= this.options.halfOpenProbes) return false;
    this.probesSent++;
    return true;
  }

  isFailureStatus(status: number): boolean {
    return this.failureStatus[status] === 1;
  }

  /** The outcome of one attempt: a response status, or 0 for a connect error or timeout. */
  record(now: number, status: number): void {
    this.recordOutcome(now, status === 0 || this.failureStatus[status] === 1);
  }

  recordOutcome(now: number, failed: boolean): void {
    if (this.state === HALF_OPEN) {
      if (failed) this.trip(now);
      else if (++this.probeOk >= this.options.halfOpenProbes) {
        this.window.reset();
        this.transition(CLOSED);
      }
      return;
    }
    // Outcomes of requests let through before the circuit opened say nothing new.
    if (this.state === OPEN) return;
    const w = this.window;
    w.add(now, 1, failed ? 1 : 0);
    if (failed && w.sumA >= this.options.minRequests && w.sumB >= this.options.errorRatio * w.sumA) this.trip(now);
  }

  /** Milliseconds until an open circuit lets a probe through (0 when not open). */
  retryAfterMs(now: number): number {
    return this.state === OPEN ? Math.max(0, this.openUntil - now) : 0;
  }

  private trip(now: number): void {
    this.openUntil = now + this.options.openMs;
    this.window.reset();
    this.transition(OPEN);
  }

  private transition(to: BreakerState): void {
    if (this.state === to) return;
    this.state = to;
    this.onTransition(to);
  }
}
