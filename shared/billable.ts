import type { AccessEvent } from './access-event.ts';

/**
 * THE definition of a billable request, shared by QPD limits (a tenant's
 * daily quota) and the billing export, so a tenant's limit and its bill agree:
 * the gateway forwarded the request and the service answered it without a
 * server error, or the gateway forwarded it whole and the client left before
 * the answer reached it (the service had it: were it refunded, a client that
 * hangs up after sending would never use up its quota), unless the service
 * had begun a 5xx. Requests the gateway refused (unauthorized, rate limited,
 * no route, …), a client that left before its request was forwarded whole,
 * upstream failures and 5xx answers are counted in traffic reports but never
 * billed.
 */
export function isBillable(e: Pick<AccessEvent, 'errorClass' | 'upstreamStatus' | 'status'>): boolean {
  if (e.errorClass === 'client_closed_forwarded') return e.upstreamStatus < 500;
  return e.errorClass === 'none' && e.upstreamStatus !== 0 && e.status < 500;
}
