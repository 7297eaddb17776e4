import type { Target } from '../target.ts';

/**
 * Weights as the balancers use them, read once per balancer. A weight that is
 * not a positive finite number (0 = drained, NaN from a bad source) makes its
 * target never picked instead of poisoning every sum it enters.
 */
export function usableWeights(targets: readonly Target[]): Float64Array {
  const weights = new Float64Array(targets.length);
  for (let i = 0; i < targets.length; i++) weights[i] = usableWeight(targets[i].weight);
  return weights;
}

/** One target's weight as the balancers use it: 0 (never picked) unless a positive finite number. */
export function usableWeight(w: number): number {
  return w > 0 && Number.isFinite(w) ? w : 0;
}

/** Targets ordered by id, so a hash maps to the same target whatever order the config lists them in. */
export function byId(targets: readonly Target[]): Target[] {
  return [...targets].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
