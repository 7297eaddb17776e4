import { hash32, scaleHash } from '../../upstream/balancers/hash.ts';

/**
 * Chooses a group index from relative weights. Two ways, both
 * allocation-free:
 *
 * - `byKey(key)`: a client with a sticky key (app id, cookie, header) always
 *   lands in the same group, on every process and node: the key's 32-bit hash
 *   is a point in [0, total) and the groups own consecutive intervals, stable
 *   first. Raising a canary's weight at the expense of stable only moves
 *   clients from stable into the canary, never back and forth.
 * - `next()`: without a key, smooth weighted round robin (nginx), so the
 *   split is exact over every `total` requests, not merely on average.
 */
export class GroupSelector {
  readonly weights: readonly number[];
  readonly total: number;
  /** Upper bound of each group's interval on the hash line. */
  private readonly bounds: Float64Array;
  private readonly current: Float64Array;

  constructor(weights: readonly number[]) {
    this.weights = weights;
    this.total = weights.reduce((a, b) => a + b, 0);
    this.bounds = new Float64Array(weights.length);
    let acc = 0;
    weights.forEach((w, i) => {
      acc += w;
      this.bounds[i] = acc;
    });
    this.current = new Float64Array(weights.length);
  }

  byKey(key: string): number {
    const point = scaleHash(hash32(key), this.total);
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) if (point < b[i]) return i;
    return b.length - 1;
  }

  next(): number {
    const w = this.weights;
    const c = this.current;
    let best = 0;
    for (let i = 0; i < w.length; i++) {
      c[i] += w[i];
      if (c[i] > c[best]) best = i;
    }
    c[best] -= this.total;
    return best;
  }
}
