import type { RequestContext } from '../context.ts';
import { formatGrpcTimeout } from './timeout.ts';
import { MAX_TIMER_MS } from '../../../shared/timer-limit.ts';

/**
 * Holds a gRPC call with a deadline (grpc-timeout) to it as it goes to a
 * target: the time left goes upstream as grpc-timeout, and `expired` runs
 * when it is up. Undefined, and the call answered with 504
 * GW_ERR_DEADLINE_EXCEEDED (DEADLINE_EXCEEDED to the client), when it is up
 * already (a retry, or a slow stage before it).
 */
export function armDeadline(
  ctx: RequestContext,
  headers: Record<string, string | string[]>,
  expired: () => void,
): NodeJS.Timeout | undefined {
  const leftMs = ctx.grpcDeadlineMs - performance.now();
  if (leftMs <= 0) {
    ctx.reply('GW_ERR_DEADLINE_EXCEEDED');
    return undefined;
  }
  headers['grpc-timeout'] = formatGrpcTimeout(leftMs);
  // A client may ask for up to 99999999 hours; past what a timer runs (24.8 days) the gateway holds the call to that.
  return setTimeout(expired, Math.min(leftMs, MAX_TIMER_MS));
}
