import type { Balancer, BalancerFactory, BalanceRequest, BalancerOptions } from '../balancer.ts';
import type { Target } from '../target.ts';
import { hash32 } from './hash.ts';
import { keyReader, type KeyReader } from './hash-key.ts';
import { byId, usableWeights } from './weights.ts';

/** ketama's density: 160 points per weight unit keeps each target's share within a few % of its weight. */
export const POINTS_PER_WEIGHT = 160;
/**
 * Bound on ring size (6 bytes a point, ~60 ms to build at the bound). Past it every target gets
 * proportionally fewer points; the ring stays balanced, but a change of the
 * total weight then also moves keys between unchanged targets.
 */
export const MAX_RING_POINTS = 1 << 18;

/**
 * ketama ring. A target owns points at hash32(`${id}-${j}`), so adding or
 * removing a target only adds or removes its own points: keys move to or from
 * that target and never between two others. A key is hashed once per pick
 * and nothing is cached per key.
 */
class ConsistentHash implements Balancer {
  readonly #targets: readonly Target[];
  readonly #key: KeyReader;
  /** Point hashes, ascending. */
  readonly #points: Uint32Array;
  /** Index into #targets of the target owning the point at the same position. */
  readonly #owners: Uint16Array;
  readonly #targetsOnRing: number;
  /** Pick number in which a target was last asked about, so each is asked at most once per pick. */
  readonly #askedIn: Float64Array;
  #pickNumber = 0;

  constructor(targets: readonly Target[], options: BalancerOptions) {
    // Sorted, so equal point hashes of two targets resolve the same way whatever the config order;
    // owners are 16-bit, and a ring cannot give more targets than that a point each anyway.
    this.#targets = byId(targets).slice(0, 0xffff);
    this.#key = keyReader(options.hashOn);
    const weights = usableWeights(this.#targets);
    const totalWeight = weights.reduce((sum, w) => sum + w, 0);
    const pointsPerWeight = Math.min(POINTS_PER_WEIGHT, MAX_RING_POINTS / Math.max(totalWeight, 1));
    const counts = weights.map((w) => (w > 0 ? Math.max(1, Math.round(w * pointsPerWeight)) : 0));
    const size = counts.reduce((sum, c) => sum + c, 0);

    // hash * 2^16 + owner stays below 2^48, exact in a double: one numeric sort orders by hash, then by id.
    const packed = new Float64Array(size);
    let p = 0;
    for (let t = 0; t < this.#targets.length; t++) {
      const prefix = this.#targets[t].id + '-';
      for (let j = 0; j < counts[t]; j++) packed[p++] = hash32(prefix + j) * 65536 + t;
    }
    packed.sort();
    this.#points = new Uint32Array(size);
    this.#owners = new Uint16Array(size);
    for (let k = 0; k < size; k++) {
      this.#owners[k] = packed[k] % 65536;
      this.#points[k] = (packed[k] - this.#owners[k]) / 65536;
    }
    this.#targetsOnRing = counts.filter((c) => c > 0).length;
    this.#askedIn = new Float64Array(this.#targets.length);
  }

  pick(req: BalanceRequest, eligible: (t: Target) => boolean): Target | undefined {
    const size = this.#points.length;
    if (size === 0) return undefined;
    const pickNumber = ++this.#pickNumber;
    let asked = 0;
    let k = firstAtOrAfter(this.#points, hash32(this.#key(req)));
    // Clockwise from the key: the first eligible owner wins, so a down
    // target's keys spread over its ring neighbours and come back with it.
    for (let step = 0; step < size; step++) {
      const t = this.#owners[k];
      if (this.#askedIn[t] !== pickNumber) {
        this.#askedIn[t] = pickNumber;
        if (eligible(this.#targets[t])) return this.#targets[t];
        if (++asked === this.#targetsOnRing) return undefined;
      }
      k = k + 1 === size ? 0 : k + 1;
    }
    return undefined;
  }
}

/** Position of the first point >= h, wrapping to 0 past the last point. */
function firstAtOrAfter(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid] < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

export const consistentHash: BalancerFactory = (targets, options) => new ConsistentHash(targets, options);
