import { Lru } from '../../lru.ts';

/** One key's bucket: tokens left as of `atMs` (a monotonic clock, e.g. performance.now()). */
interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * QPS limit as token buckets, one per key, exact within this process and
 * synchronous (no tick, no allocation for a known key). A bucket holds up to
 * `burst` tokens and gains `ratePerS` per second; a request takes one. Rate
 * and burst come with each call, so an app whose record changes gets its new
 * numbers at once. At most `maxKeys` buckets are kept, least recently used
 * first out: a dropped bucket comes back full, so eviction can only admit
 * more, never refuse; `evictions` counts it.
 */
export class TokenBucket {
  readonly maxKeys: number;
  private readonly buckets: Lru<string, Bucket>;

  constructor(maxKeys: number) {
    this.maxKeys = maxKeys;
    this.buckets = new Lru(maxKeys);
  }

  get size(): number {
    return this.buckets.size;
  }

  get evictions(): number {
    return this.buckets.evictions;
  }

  /**
   * Takes one token for `key` at `nowMs`. Returns the whole tokens left (>= 0)
   * when allowed, or minus the milliseconds until a token is due when refused.
   */
  take(key: string, nowMs: number, ratePerS: number, burst: number): number {
    const buckets = this.buckets;
    let b = buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst - 1, atMs: nowMs };
      buckets.set(key, b);
      return b.tokens;
    }
    let tokens = b.tokens + ((nowMs - b.atMs) * ratePerS) / 1000;
    if (tokens > burst) tokens = burst;
    b.atMs = nowMs;
    // Refill is added in fractions; the epsilon keeps rounding from withholding a token that is due.
    if (tokens >= 0.999999) {
      b.tokens = tokens - 1;
      return b.tokens > 0 ? Math.floor(b.tokens) : 0;
    }
    b.tokens = tokens;
    return -Math.max(1, Math.ceil(((1 - tokens) * 1000) / ratePerS));
  }
}
