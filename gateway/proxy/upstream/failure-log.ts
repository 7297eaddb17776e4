/** What one failed exchange with a target is logged with. */
export interface UpstreamFailure {
  service: string;
  /** Canary group, '' for the service's own upstream. */
  group: string;
  target: string;
  request_id: string;
  /** The reply code the failure maps to (GW_ERR_*), as in the access log. */
  code: string;
  /** The upstream error's own code (ECONNREFUSED, TOLLGATE_HEADERS_TIMEOUT, ERR_TLS_CERT_ALTNAME_INVALID, …). */
  err_code: string;
  err: string;
}

export type FailureWriter = (fields: UpstreamFailure & { suppressed: number }) => void;

interface Window {
  /** When the last line for this key was written. */
  atMs: number;
  /** Failures since then that got no line of their own. */
  suppressed: number;
  /** The newest of them, written when the window closes. */
  latest: UpstreamFailure | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Keys kept before idle ones are dropped; targets × error codes stay far below it in practice. */
const MAX_KEYS = 1024;

/**
 * The cause of every upstream failure, written at most once per target and
 * error code per `intervalMs` so an outage cannot flood the log (nginx writes
 * one error-log line per failure). Failures inside a window are counted; when
 * the window ends the newest of them is written with `suppressed`, the count
 * of the others, so every failure is accounted for. Runs on failures only.
 */
export class UpstreamFailureLog {
  readonly #write: FailureWriter;
  readonly #intervalMs: number;
  readonly #windows = new Map<string, Window>();

  constructor(write: FailureWriter, intervalMs = 1000) {
    this.#write = write;
    this.#intervalMs = intervalMs;
  }

  report(failure: UpstreamFailure): void {
    const nowMs = Date.now();
    const key = `${failure.target}\u0000${failure.err_code}`;
    const w = this.#windows.get(key);
    if (w !== undefined && nowMs - w.atMs < this.#intervalMs) {
      w.suppressed++;
      w.latest = failure;
      w.timer ??= setTimeout(() => this.#close(w), w.atMs + this.#intervalMs - nowMs).unref();
      return;
    }
    if (w === undefined && this.#windows.size >= MAX_KEYS) this.#dropIdle(nowMs);
    this.#write({ ...failure, suppressed: 0 });
    if (w === undefined) this.#windows.set(key, { atMs: nowMs, suppressed: 0, latest: undefined, timer: undefined });
    else w.atMs = nowMs;
  }

  /** Pending counts are written now (the pool is closing). */
  flush(): void {
    for (const w of this.#windows.values()) this.#close(w);
  }

  #close(w: Window): void {
    clearTimeout(w.timer);
    w.timer = undefined;
    if (w.latest === undefined) return;
    this.#write({ ...w.latest, suppressed: w.suppressed - 1 });
    w.atMs = Date.now();
    w.suppressed = 0;
    w.latest = undefined;
  }

  /** Forgets windows that have ended; if every one is still open, the oldest is closed (its count written) and
   * forgotten. */
  #dropIdle(nowMs: number): void {
    for (const [key, w] of this.#windows)
      if (w.timer === undefined && nowMs - w.atMs >= this.#intervalMs) this.#windows.delete(key);
    if (this.#windows.size < MAX_KEYS) return;
    const [key, oldest] = this.#windows.entries().next().value!;
    this.#close(oldest);
    this.#windows.delete(key);
  }
}
