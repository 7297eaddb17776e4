import type { Target } from '../target.ts';

export interface PassiveHealthOptions {
  /** Consecutive failed requests that eject a target; 0 disables ejection. */
  maxFailures: number;
  /** How long an ejected target rests. */
  ejectionMs: number;
  /** Upstream statuses that count as failures (connect errors and timeouts always do). */
  failureStatuses: readonly number[];
  /**
   * Most targets of the upstream that may be ejected at once, as a percentage
   * of them, rounded down (default 100): at 50 a lone target is never ejected
   * and two of four at most.
   */
  maxEjectedPercent?: number;
}

/** Called with true when a target is ejected, false when a success shows it is back. */
export type EjectionListener = (target: Target, ejected: boolean) => void;

/** Called when a target qualified for ejection but the cap kept it in. */
export type OverflowListener = (target: Target) => void;

/**
 * Ejects targets that fail real requests, judged from the proxy's own
 * results. State lives on the Target (`consecutiveFailures`, `ejectedUntil`)
 * so it survives a config reload together with the Target.
 */
export class PassiveHealth {
  readonly #maxFailures: number;
  readonly #ejectionMs: number;
  readonly #failureStatuses: ReadonlySet<number>;
  readonly #maxEjectedPercent: number;
  readonly #onChange: EjectionListener | undefined;
  /** The upstream's current targets, read only when a target qualifies for ejection. */
  readonly #peers: () => readonly Target[];
  readonly #onOverflow: OverflowListener | undefined;

  constructor(
    options: PassiveHealthOptions,
    onChange?: EjectionListener,
    peers?: () => readonly Target[],
    onOverflow?: OverflowListener,
  ) {
    this.#maxFailures = options.maxFailures;
    this.#ejectionMs = options.ejectionMs;
    this.#failureStatuses = new Set(options.failureStatuses);
    this.#maxEjectedPercent = options.maxEjectedPercent ?? 100;
    this.#onChange = onChange;
    this.#peers = peers ?? (() => []);
    this.#onOverflow = onOverflow;
  }

  isFailureStatus(status: number): boolean {
    return this.#failureStatuses.has(status);
  }

  /**
   * Resets the failure count. A success does not cut a running ejection
   * short: it may come from a request sent before the target was ejected.
   * The clock is read only for an ejected target, so a success on a healthy
   * one (nearly every request) reads none.
   */
  recordSuccess(target: Target, nowMs?: number): void {
    target.consecutiveFailures = 0;
    if (target.ejectedUntil !== 0 && target.ejectedUntil <= (nowMs ?? Date.now())) {
      target.ejectedUntil = 0;
      target.unreachableSince = 0;
      this.#onChange?.(target, false);
    }
  }

  /**
   * `unreachable`: the target sent nothing back (a connect failure, or a connection lost before any response). An
   * ejection such a failure starts ends early when an active check passes or a last-resort request is answered
   * (recordReached); one for a failing status or a timeout runs its course.
   */
  recordFailure(target: Target, nowMs: number, unreachable = false): void {
    target.consecutiveFailures++;
    if (this.#maxFailures === 0 || target.consecutiveFailures < this.#maxFailures) return;
    // Failures of requests already in flight at ejection do not extend the rest.
    if (target.ejectedUntil > nowMs) return;
    if (this.#maxEjectedPercent < 100 && !this.#mayEject(target, nowMs)) {
      this.#onOverflow?.(target);
      return;
    }
    // The count is kept (only a success resets it), so after its rest a
    // still-broken target is ejected again by its first failed request
    // rather than by maxFailures more.
    target.ejectedUntil = nowMs + this.#ejectionMs;
    target.unreachableSince = unreachable ? nowMs : 0;
    this.#onChange?.(target, true);
  }

  /**
   * An active check that started at `startedMs` passed, or a request sent
   * then to the ejected target as a last resort (UpstreamPool.pickEjected)
   * got an answer that is no failure. A target ejected because it could not
   * be reached is back as soon as something sent after the ejection reaches
   * it, as Envoy's outlier detection un-ejects on a passing check: without
   * this, a target restarted a moment ago sat out the whole `ejection_ms`
   * while up, and a restart of the next target in a rolling deploy left its
   * requests no target to be retried on. A check's /healthz, or one answer,
   * says nothing of failing statuses or slow answers, so those ejections run
   * their course.
   */
  recordReached(target: Target, startedMs: number, nowMs: number): void {
    if (target.unreachableSince === 0 || target.unreachableSince > startedMs || target.ejectedUntil <= nowMs) return;
    // The failure count is kept, as after a rest run out: a target still broken is ejected again by its next failure.
    target.ejectedUntil = 0;
    target.unreachableSince = 0;
    this.#onChange?.(target, false);
  }

  /**
   * Envoy's max_ejection_percent: passive ejection alone never takes more
   * than this share of the targets out, so application errors (a 503 on one
   * path) cannot turn into "no target available" for every path. Counted
   * only on the rare path where a target has just reached maxFailures.
   */
  #mayEject(target: Target, nowMs: number): boolean {
    const peers = this.#peers();
    const cap = Math.floor((Math.max(peers.length, 1) * this.#maxEjectedPercent) / 100);
    let ejected = 0;
    for (const t of peers) if (t !== target && t.ejectedUntil > nowMs) ejected++;
    return ejected < cap;
  }
}
