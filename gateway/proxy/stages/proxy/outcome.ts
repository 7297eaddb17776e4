/**
 * What one attempt's outcome tells the upstream (exchange.ts): its status or
 * its failure feeds passive health and the circuit breaker, and a failure is
 * logged through the upstream's failure log.
 */
import type { ErrorCode } from '../../../errors.ts';
import type { Target } from '../../upstream/target.ts';
import type { UpstreamPool } from '../../upstream/pool.ts';

/**
 * A response head from `target`. `lastResortMs` is when a retry went to a
 * target passive ejection held out (0 otherwise): reaching it counts toward
 * its return. True when the breaker recorded the response.
 */
export function recordStatus(
  upstream: UpstreamPool,
  target: Target,
  statusCode: number,
  lastResortMs: number,
): boolean {
  const breaker = upstream.breaker;
  breaker?.record(performance.now(), statusCode);
  if (upstream.passive.isFailureStatus(statusCode)) upstream.passive.recordFailure(target, Date.now());
  else {
    upstream.passive.recordSuccess(target);
    if (lastResortMs !== 0) upstream.passive.recordReached(target, lastResortMs, Date.now());
  }
  return breaker !== undefined;
}

/**
 * A failed attempt, answered with `replyCode`. True when the breaker recorded
 * it now (never twice for one attempt: `breakerRecorded`).
 */
export function recordFailure(
  upstream: UpstreamPool,
  target: Target,
  requestId: string,
  err: Error,
  replyCode: ErrorCode,
  noResponse: boolean,
  breakerRecorded: boolean,
): boolean {
  upstream.failures.report({
    service: upstream.service,
    group: upstream.group,
    target: target.id,
    request_id: requestId,
    code: replyCode,
    err_code: (err as NodeJS.ErrnoException).code ?? err.name,
    err: err.message,
  });
  // A response that is merely too large says nothing about the target's health.
  if (replyCode === 'GW_ERR_RESPONSE_TOO_LARGE') return false;
  upstream.passive.recordFailure(target, Date.now(), noResponse);
  if (upstream.breaker === undefined || breakerRecorded) return false;
  upstream.breaker.recordOutcome(performance.now(), true);
  return true;
}
