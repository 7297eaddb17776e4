import { Lru } from '../../lru.ts';

/** One key's usage on one day (`dayMs` = the day's start, see ZoneDays). */
interface Usage {
  dayMs: number;
  used: number;
}

/**
 * QPD as daily counters, one per key, exact within this process. A request
 * reserves a unit before it is proxied and gives it back when it turns out
 * not to be billable, so concurrent requests can never take more than the
 * quota (a request may be refused while another's unit is still reserved and
 * later refunded). At most `maxKeys` counters are kept, least recently used
 * first out; a dropped counter restarts at 0, so `evictions` is worth
 * watching on a quota keyed by client IP.
 */
export class DailyQuota {
  readonly maxKeys: number;
  private readonly usage: Lru<string, Usage>;

  constructor(maxKeys: number) {
    this.maxKeys = maxKeys;
    this.usage = new Lru(maxKeys);
  }

  get size(): number {
    return this.usage.size;
  }

  get evictions(): number {
    return this.usage.evictions;
  }

  /** Reserves one unit of `limit` for `key` on day `dayMs`: the units left after it, or -1 (nothing reserved) when used
   * up. */
  reserve(key: string, dayMs: number, limit: number): number {
    const usage = this.usage;
    let u = usage.get(key);
    if (u === undefined) {
      u = { dayMs, used: 0 };
      usage.set(key, u);
    } else if (u.dayMs !== dayMs) {
      // A new day; a reservation from a day before is simply forgotten.
      if (dayMs < u.dayMs) return limit - 1;
      u.dayMs = dayMs;
      u.used = 0;
    }
    if (u.used >= limit) return -1;
    u.used++;
    return limit - u.used;
  }

  /** Gives back a unit reserved on day `dayMs` (no-op once that day is over). */
  refund(key: string, dayMs: number): void {
    const u = this.usage.get(key);
    if (u !== undefined && u.dayMs === dayMs && u.used > 0) u.used--;
  }

  /** Units used by `key` on day `dayMs`. */
  used(key: string, dayMs: number): number {
    const u = this.usage.get(key);
    return u !== undefined && u.dayMs === dayMs ? u.used : 0;
  }
}
