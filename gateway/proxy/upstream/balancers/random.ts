import type { Balancer, BalancerFactory, BalanceRequest } from '../balancer.ts';
import type { Target } from '../target.ts';
import { usableWeights } from './weights.ts';

/**
 * Weighted random over the eligible targets: sum their weights, draw one
 * number, walk to the target whose share holds it. Two passes over the
 * targets instead of building a list of the eligible ones; `eligible` is
 * therefore asked twice, and a target whose answer flips in between is
 * covered by returning the last eligible one seen.
 */
class WeightedRandom implements Balancer {
  readonly #targets: readonly Target[];
  readonly #weights: Float64Array;

  constructor(targets: readonly Target[]) {
    this.#targets = targets;
    this.#weights = usableWeights(targets);
  }

  pick(_req: BalanceRequest, eligible: (t: Target) => boolean): Target | undefined {
    const n = this.#targets.length;
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (this.#weights[i] > 0 && eligible(this.#targets[i])) total += this.#weights[i];
    }
    if (total === 0) return undefined;
    let left = Math.random() * total;
    let last: Target | undefined;
    for (let i = 0; i < n; i++) {
      const w = this.#weights[i];
      if (w === 0 || !eligible(this.#targets[i])) continue;
      last = this.#targets[i];
      left -= w;
      if (left < 0) return last;
    }
    return last;
  }
}

export const random: BalancerFactory = (targets) => new WeightedRandom(targets);
