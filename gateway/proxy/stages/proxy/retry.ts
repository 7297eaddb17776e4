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

/**
 * A request's way in to its upstream: the breaker lets it through (else 503 GW_ERR_CIRCUIT_OPEN), the retry budget
 * counts it, and the balancer picks a target (else 503 GW_ERR_UPSTREAM_UNAVAILABLE). Undefined once replied.
 */
export function admit(ctx: RequestContext, upstream: UpstreamPool): Target | undefined {
  const breaker = upstream.breaker;
  const budget = upstream.retryBudget;
  if (breaker !== undefined || budget !== undefined) {
    // Breaker and budget run on the performance.now() clock; the request's start time costs no clock read.
    const now = ctx.startMs;
    if (breaker !== undefined && !breaker.allow(now)) {
      upstream.counters.breakerRejected.inc();
      ctx.reply('GW_ERR_CIRCUIT_OPEN', { 'retry-after': String(Math.ceil(breaker.retryAfterMs(now) / 1000)) });
      return undefined;
    }
    budget?.request(now);
  }
  const target = upstream.pick(ctx);
  if (!target) ctx.reply('GW_ERR_UPSTREAM_UNAVAILABLE');
  return target;
}
