import type { Balancer, BalancerFactory, BalanceRequest } from '../balancer.ts';
import type { Target } from '../target.ts';
import { hash32, mix32, scaleHash } from './hash.ts';
import { unmapIp } from '../../net/ip.ts';
import { byId, usableWeights } from './weights.ts';

/** nginx ip_hash gives up rehashing after 20 tries; then we walk the list. */
const REHASH_TRIES = 20;

/**
 * Hash of the client IP over the weight line: a target of weight w owns w
 * units of [0, total). The same IP lands on the same target while the target
 * set is unchanged (and in any config order: targets are sorted by id).
 * When the chosen target is ineligible the hash is rehashed, as nginx does,
 * so a down target's clients spread over all the others by weight rather
 * than piling onto its neighbour; the sequence is fixed per IP, so those
 * clients stay sticky to their stand-in and return when the target does.
 */
class IpHash implements Balancer {
  readonly #targets: readonly Target[];
  readonly #weights: Float64Array;
  /** #weightEnds[i] = sum of weights[0..i]; target i owns [#weightEnds[i-1], #weightEnds[i]). */
  readonly #weightEnds: Float64Array;
  readonly #totalWeight: number;

  constructor(targets: readonly Target[]) {
    this.#targets = byId(targets);
    this.#weights = usableWeights(this.#targets);
    this.#weightEnds = new Float64Array(this.#targets.length);
    let sum = 0;
    for (let i = 0; i < this.#weights.length; i++) this.#weightEnds[i] = sum += this.#weights[i];
    this.#totalWeight = sum;
  }

  pick(req: BalanceRequest, eligible: (t: Target) => boolean): Target | undefined {
    if (this.#totalWeight === 0) return undefined;
    let h = hash32(unmapIp(req.clientIp));
    const first = this.#owner(h);
    if (eligible(this.#targets[first])) return this.#targets[first];
    for (let tries = 0; tries < REHASH_TRIES; tries++) {
      h = mix32(h + 0x9e3779b9);
      const i = this.#owner(h);
      if (eligible(this.#targets[i])) return this.#targets[i];
    }
    const n = this.#targets.length;
    for (let step = 1, i = first + 1; step < n; step++, i++) {
      if (i === n) i = 0;
      if (this.#weights[i] > 0 && eligible(this.#targets[i])) return this.#targets[i];
    }
    return undefined;
  }

  /** Index of the target whose share of the weight line contains the hash. */
  #owner(h: number): number {
    const at = scaleHash(h, this.#totalWeight);
    let lo = 0;
    let hi = this.#weightEnds.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#weightEnds[mid] <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export const ipHash: BalancerFactory = (targets) => new IpHash(targets);
