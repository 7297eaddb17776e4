import type { Balancer, BalancerFactory, BalanceRequest } from '../balancer.ts';
import type { Target } from '../target.ts';
import { usableWeights } from './weights.ts';

/**
 * Fewest requests in flight per unit of weight (active / weight). The scan
 * starts just after the previous pick, and only a strictly lower load
 * replaces the candidate, so targets with equal load take turns instead of
 * the first one in the list taking every request of a quiet period.
 */
class LeastConnections implements Balancer {
  readonly #targets: readonly Target[];
  readonly #weights: Float64Array;
  #start = 0;

  constructor(targets: readonly Target[]) {
    this.#targets = targets;
    this.#weights = usableWeights(targets);
  }

  pick(_req: BalanceRequest, eligible: (t: Target) => boolean): Target | undefined {
    const n = this.#targets.length;
    let best = -1;
    let bestLoad = Infinity;
    let i = this.#start;
    for (let step = 0; step < n; step++) {
      const w = this.#weights[i];
      if (w > 0) {
        const target = this.#targets[i];
        const load = target.active / w;
        // Load first: `eligible` is only asked about targets that would win.
        if (load < bestLoad && eligible(target)) {
          best = i;
          bestLoad = load;
        }
      }
      i = i + 1 === n ? 0 : i + 1;
    }
    if (best < 0) return undefined;
    this.#start = best + 1 === n ? 0 : best + 1;
    return this.#targets[best];
  }
}

export const leastConnections: BalancerFactory = (targets) => new LeastConnections(targets);
