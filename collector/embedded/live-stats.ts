import { bucketStartMs, type TrafficDelta } from '../aggregate/traffic.ts';
import type { LiveSnapshot } from '../reports/source.ts';

export type { LiveSnapshot } from '../reports/source.ts';

/**
 * In-memory live numbers, fed with batches only after they are stored, so a
 * batch that failed and is read again is not counted twice. Today's counts
 * start from the store (seed) and then follow the batches; the QPS ring has
 * one slot per second of event start time.
 */
export class LiveStats {
  readonly #now: () => number;
  readonly #windowS: number;
  readonly #seconds: Float64Array;
  readonly #counts: Float64Array;
  #dayStartMs: number;
  #today = new Map<string, { app_id: string; service: string; requests: number }>();

  constructor(now: () => number = Date.now, windowS = 10) {
    this.#now = now;
    this.#windowS = windowS;
    // Two spare slots: the current, incomplete second and one more for events that arrive just after it ends.
    this.#seconds = new Float64Array(windowS + 2).fill(-1);
    this.#counts = new Float64Array(windowS + 2);
    this.#dayStartMs = bucketStartMs('day', now());
  }

  /** Today's counts as stored, replacing what is kept. */
  seed(dayStartMs: number, rows: Array<{ appId: string; service: string; requests: number }>): void {
    this.#dayStartMs = dayStartMs;
    this.#today.clear();
    for (const r of rows) this.#bump(r.appId, r.service, r.requests);
  }

  /** A stored batch: its day deltas (today's are counted) and its requests per start second. */
  apply(deltas: readonly TrafficDelta[], perSecond: ReadonlyMap<number, number>): void {
    this.#rollDay();
    for (const d of deltas) {
      if (d.granularity === 'day' && d.bucketStartMs === this.#dayStartMs)
        this.#bump(d.appId, d.service, d.counters.requests);
    }
    const nowS = Math.floor(this.#now() / 1000);
    const size = this.#seconds.length;
    for (const [second, n] of perSecond) {
      // Outside the ring, a second would overwrite a slot still in the window.
      if (second <= nowS - size + 1 || second > nowS + 1) continue;
      const slot = second % size;
      if (this.#seconds[slot] !== second) {
        this.#seconds[slot] = second;
        this.#counts[slot] = 0;
      }
      this.#counts[slot] += n;
    }
  }

  snapshot(): LiveSnapshot {
    this.#rollDay();
    const nowS = Math.floor(this.#now() / 1000);
    let sum = 0;
    for (let second = nowS - this.#windowS; second < nowS; second++) {
      const slot = second % this.#seconds.length;
      if (this.#seconds[slot] === second) sum += this.#counts[slot];
    }
    const today = [...this.#today.values()]
      .map((r) => ({ ...r }))
      .sort((a, b) => (a.app_id === b.app_id ? cmp(a.service, b.service) : cmp(a.app_id, b.app_id)));
    return { status: 'ok', qps: sum / this.#windowS, today };
  }

  #rollDay(): void {
    const day = bucketStartMs('day', this.#now());
    if (day === this.#dayStartMs) return;
    this.#dayStartMs = day;
    this.#today.clear();
  }

  #bump(appId: string, service: string, requests: number): void {
    const key = JSON.stringify([appId, service]);
    const row = this.#today.get(key);
    if (row) row.requests += requests;
    else this.#today.set(key, { app_id: appId, service, requests });
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
