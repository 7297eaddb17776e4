/**
 * Two counts (`a`, `b`) over the last `windowMs`, kept in a fixed ring of
 * buckets with running sums: adding is O(1) and allocates nothing, and a
 * bucket is cleared only when the clock moves past it. Used by the circuit
 * breaker (outcomes, failures) and the retry budget (requests, retries).
 */
export class RollingWindow {
  private readonly bucketMs: number;
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  /** Absolute bucket number (time / bucketMs) of the newest bucket. */
  private head = 0;
  sumA = 0;
  sumB = 0;

  constructor(windowMs: number, buckets = 10) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
    this.a = new Float64Array(buckets);
    this.b = new Float64Array(buckets);
  }

  /** Drops buckets that fell out of the window at `now` (ms). */
  advance(now: number): void {
    const n = Math.floor(now / this.bucketMs);
    if (n <= this.head) return;
    const size = this.a.length;
    if (n - this.head >= size) {
      this.a.fill(0);
      this.b.fill(0);
      this.sumA = 0;
      this.sumB = 0;
    } else {
      for (let i = this.head + 1; i <= n; i++) {
        const k = i % size;
        this.sumA -= this.a[k];
        this.sumB -= this.b[k];
        this.a[k] = 0;
        this.b[k] = 0;
      }
    }
    this.head = n;
  }

  add(now: number, a: number, b: number): void {
    this.advance(now);
    const k = this.head % this.a.length;
    this.a[k] += a;
    this.b[k] += b;
    this.sumA += a;
    this.sumB += b;
  }

  reset(): void {
    this.a.fill(0);
    this.b.fill(0);
    this.sumA = 0;
    this.sumB = 0;
  }
}
