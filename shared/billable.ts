import type { AccessEvent } from './access-event.ts';

/**
 * THE definition of a billable request, shared by QPD limits (a tenant's
 * daily quota) and the billing export, so a tenant's limit and its bill agree:
 * the gateway forwarded the request and the service answered it without a
 * server error. Requests the gateway refused (unauthorized, rate limited,
 * no route, …), upstream failures and 5xx answers are counted in traffic
 * reports but never billed.
 */
export function isBillable(e: Pick<AccessEvent, 'errorClass' | 'upstreamStatus' | 'status'>): boolean {
  return e.errorClass === 'none' && e.upstreamStatus !== 0 && e.status < 500;
}
