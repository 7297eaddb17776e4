/**
 * What one attempt's outcome tells the upstream (exchange.ts): its status or
 * its failure feeds passive health and the circuit breaker, and a failure is
 * logged through the upstream's failure log.
 */
import type { ErrorCode } from '../../../errors.ts';
import type { Target } from '../../upstream/target.ts';
import type { UpstreamPool } from '../../upstream/pool.ts';
import { WITHDRAWN_REPLIES } from '../../events/open-requests.ts';

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

/**
 * undici's and Node's refusals of a request head they will not send (a header value with CR, LF or NUL, a character
 * above U+00FF): the request is at fault, not the target, and no other target would take it either.
 */
const UNSENDABLE = new Set([
  'UND_ERR_INVALID_ARG',
  'ERR_INVALID_CHAR',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_HTTP2_INVALID_HEADER_VALUE',
  'ERR_INVALID_HTTP_TOKEN',
]);

/**
 * The reply to an attempt that failed through no fault of its target, which is then neither blamed (no passive-health
 * failure, no breaker count) nor retried: the request's app or key withdrawn (events/open-requests.ts), or a head
 * undici or Node would not send. Undefined for any other failure.
 */
export function notTheTargets(code: string | undefined): ErrorCode | undefined {
  if (code === undefined) return undefined;
  return UNSENDABLE.has(code) ? 'GW_ERR_INTERNAL' : WITHDRAWN_REPLIES.get(code);
}
