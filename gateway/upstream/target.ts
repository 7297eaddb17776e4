/**
 * One upstream endpoint and its live state. Balancers read it; the proxy,
 * the active health checker and passive ejection write it. A Target outlives
 * config reloads when its upstream and URL are unchanged, so health state and
 * connection pools survive a reload.
 */
export class Target {
  /** Stable id within its upstream: the origin, e.g. `http://127.0.0.1:9001`. */
  readonly id: string;
  readonly origin: string;
  /** `host[:port]` of the origin, sent as Host unless the route preserves the client's. */
  readonly host: string;
  readonly weight: number;
  /** Requests currently in flight to this target (least connections reads it). */
  active = 0;
  /** Verdict of the active health checker; true until a check says otherwise. */
  healthy = true;
  /** Passive ejection: unavailable until this epoch-ms time. 0 = not ejected. */
  ejectedUntil = 0;
  /** Consecutive passive failures since the last success. */
  consecutiveFailures = 0;

  constructor(origin: string, weight = 1) {
    this.id = origin;
    this.origin = origin;
    this.host = new URL(origin).host;
    this.weight = weight;
  }

  /** Healthy and not ejected. The clock is read only for a target that was ejected (`nowMs` when the caller has it). */
  available(nowMs?: number): boolean {
    return this.healthy && (this.ejectedUntil === 0 || this.ejectedUntil <= (nowMs ?? Date.now()));
  }
}
