import type { AccessEvent } from '../../../shared/access-event.ts';
import { newEventId } from '../../../shared/access-event-id.ts';
import type { RequestContext } from '../context.ts';
import { errors, type ErrorCode } from '../../errors.ts';

/** The trace id of a W3C `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`), or ''. */
export function traceIdOf(header: string | string[] | undefined): string {
  if (typeof header !== 'string' || header.length < 55 || header.charCodeAt(2) !== 45 /* - */) return '';
  // A loop, not a regex on a slice: this runs for every traced request.
  let nonZero = false;
  for (let i = 3; i < 35; i++) {
    const c = header.charCodeAt(i);
    if (c === 0x30) continue;
    if (!((c > 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return '';
    nonZero = true;
  }
  return nonZero ? header.slice(3, 35) : '';
}

/** The fact of one finished request. Times are whole microseconds; the codec takes integers only. */
export function accessEvent(ctx: RequestContext, status: number, seconds: number, node: string): AccessEvent {
  const totalUs = Math.round(seconds * 1e6);
  const upstreamUs = Math.min(totalUs, Math.round(ctx.upstreamMs * 1000));
  return {
    id: newEventId(),
    startMs: Math.round(performance.timeOrigin + ctx.startMs),
    node,
    appId: ctx.appId,
    service: ctx.route ? ctx.route.service.name : '',
    route: ctx.route ? ctx.route.name : '',
    method: ctx.req.method ?? '',
    status,
    upstreamStatus: ctx.upstreamStatus,
    totalUs,
    upstreamUs,
    gatewayUs: totalUs - upstreamUs,
    bytesIn: ctx.bytesIn,
    bytesOut: ctx.bytesOut,
    clientIp: ctx.clientIp,
    target: ctx.target ? ctx.target.id : '',
    errorClass: ctx.errorClass(status),
    traceId: traceIdOf(ctx.req.headers.traceparent),
  };
}

/** A request Node's parser refused before it became one (malformed, too large, too slow). */
export function rejectedEvent(code: ErrorCode, node: string, clientIp: string): AccessEvent {
  return {
    id: newEventId(),
    startMs: Date.now(),
    node,
    appId: '',
    service: '',
    route: '',
    method: '',
    status: errors[code].status,
    upstreamStatus: 0,
    totalUs: 0,
    upstreamUs: 0,
    gatewayUs: 0,
    bytesIn: 0,
    bytesOut: 0,
    clientIp,
    target: '',
    errorClass: errors[code].errorClass,
    traceId: '',
  };
}
