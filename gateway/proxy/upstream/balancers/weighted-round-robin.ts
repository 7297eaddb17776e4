import type { Balancer, BalancerFactory, BalanceRequest } from '../balancer.ts';
import type { Target } from '../target.ts';
import { usableWeights } from './weights.ts';

/**
 * nginx's smooth weighted round robin (ngx_http_upstream_get_peer): weights
 * 5,1,1 give a a b a c a a, interleaving instead of a run of five a's.
 * Ineligible targets sit a round out without gaining weight, as nginx skips
 * down peers. nginx's effective_weight (lowered on failures) is left out:
 * passive ejection already takes failing targets out of `eligible`.
 */
class SmoothWeightedRoundRobin implements Balancer {
  readonly #targets: readonly Target[];
  readonly #weights: Float64Array;
  readonly #current: Float64Array;

  constructor(targets: readonly Target[]) {
    this.#targets = targets;
    this.#weights = usableWeights(targets);
    this.#current = new Float64Array(targets.length);
  }

  pick(_req: BalanceRequest, eligible: (t: Target) => boolean): Target | undefined {
    const current = this.#current;
    let best = -1;
    let total = 0;
    for (let i = 0; i < this.#targets.length; i++) {
      const w = this.#weights[i];
      if (w === 0 || !eligible(this.#targets[i])) continue;
      current[i] += w;
      total += w;
      // Strictly greater: on a tie the earlier target wins, as in nginx.
      if (best < 0 || current[i] > current[best]) best = i;
    }
    if (best < 0) return undefined;
    current[best] -= total;
    return this.#targets[best];
  }
}

export const weightedRoundRobin: BalancerFactory = (targets) => new SmoothWeightedRoundRobin(targets);
