import type { AccessEvent } from './access-event.ts';

/**
 * THE definition of a billable request, shared by QPD limits (a tenant's
 * daily quota) and the billing export, so a tenant's limit and its bill agree:
 * the gateway forwarded the request and the service answered it without a
 * server error; or the client left late, once the service had its whole
 * request or had begun its answer (an upload the service answers as it comes), and
 * the service had begun no 5xx: the service had it, and were it refunded, a
 * client that hangs up after sending would never use up its quota. Requests
 * the gateway refused (unauthorized, rate limited, no route, …), a client that
 * left earlier, upstream failures and 5xx answers are counted in traffic
 * reports but never billed.
 */
export function isBillable(e: Pick<AccessEvent, 'errorClass' | 'upstreamStatus' | 'status'>): boolean {
  if (e.errorClass === 'client_closed_late') return e.upstreamStatus < 500;
  return e.errorClass === 'none' && e.upstreamStatus !== 0 && e.status < 500;
}
