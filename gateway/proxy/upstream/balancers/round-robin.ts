import type { Balancer, BalancerFactory, BalanceRequest } from '../balancer.ts';
import type { Target } from '../target.ts';
import { usableWeights } from './weights.ts';

/**
 * Cycles through the targets, serving a target of weight w w times in a row
 * (fractional weights round, but never below one turn). An ineligible target
 * loses the rest of its turn; the others keep their place in the cycle.
 */
class RoundRobin implements Balancer {
  readonly #targets: readonly Target[];
  readonly #turns: Float64Array;
  #index = 0;
  #usedTurns = 0;

  constructor(targets: readonly Target[]) {
    this.#targets = targets;
    this.#turns = usableWeights(targets).map((w) => (w > 0 ? Math.max(1, Math.round(w)) : 0));
  }

  pick(_req: BalanceRequest, eligible: (t: Target) => boolean): Target | undefined {
    const n = this.#targets.length;
    if (n === 0) return undefined;
    // n + 1 steps: the current target (possibly at the end of its turn), then every target once.
    for (let step = 0; step <= n; step++) {
      const i = this.#index;
      const target = this.#targets[i];
      if (this.#usedTurns < this.#turns[i] && eligible(target)) {
        this.#usedTurns++;
        return target;
      }
      this.#index = i + 1 === n ? 0 : i + 1;
      this.#usedTurns = 0;
    }
    return undefined;
  }
}

export const roundRobin: BalancerFactory = (targets) => new RoundRobin(targets);
