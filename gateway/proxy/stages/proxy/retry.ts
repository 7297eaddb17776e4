import type { RequestContext } from '../../context.ts';
import { OPEN } from '../../upstream/breaker.ts';
import type { UpstreamPool } from '../../upstream/pool.ts';
import type { Target } from '../../upstream/target.ts';

/**
 * Where a failed attempt goes again (onResponseError says which failures may be
 * retried): a target not tried yet, or, when none is eligible, one passive
 * ejection holds out (pickEjected, `lastResort`), when `retries`, the breaker and
 * the retry budget allow one. Only a retry sent is counted
 * (tollgate_upstream_retries_total) and spends budget. The budget is asked before
 * the balancer, so a retry it refuses picks nothing (a pick not used would cost
 * round robin a turn); the one pick made is the target the retry goes to.
 * undefined when there is no retry; `tried` holds every target tried so far.
 */
export function retryTarget(
  upstream: UpstreamPool,
  ctx: RequestContext,
  tried: Set<Target>,
): { target: Target; lastResort: boolean } | undefined {
  // A circuit this failure just opened means no more attempts, retries included.
  if (tried.size > upstream.config.retries || upstream.breaker?.state === OPEN) return undefined;
  const budget = upstream.retryBudget!;
  const now = performance.now();
  if (!budget.hasRoom(now)) {
    // Skipped: a retry the budget refused, not one that had no target to go to.
    if (upstream.hasUntried(tried)) upstream.counters.retriesSkipped.inc();
    return undefined;
  }
  let target = upstream.pick(ctx, tried);
  const lastResort = target === undefined;
  if (lastResort) target = upstream.pickEjected(ctx, tried);
  if (target === undefined) return undefined;
  budget.spend(now);
  upstream.counters.retries.inc();
  if (lastResort) upstream.counters.retriesLastResort.inc();
  return { target, lastResort };
}
