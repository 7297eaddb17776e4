import type { ServiceConfig } from '../../../control/config/schema.ts';

/** True when `zone` is an IANA time zone this Node knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Cross-field rules of a service's `rate_limits` (called from config/semantics.ts). */
export function checkRateLimits(svc: ServiceConfig, base: string, err: (path: string, message: string) => void): void {
  if (!Array.isArray(svc.rate_limits)) return;
  const routeNames = new Set(svc.routes.map((r, i) => r.name ?? `${svc.name}-${i}`));
  const names = new Map<string, number>();
  svc.rate_limits.forEach((p, i) => {
    const at = `${base}/rate_limits/${i}`;
    if (names.has(p.name))
      err(`${at}/name`, `duplicate rate limit name "${p.name}" (also ${base}/rate_limits/${names.get(p.name)})`);
    names.set(p.name, i);
    if (p.qps === undefined && p.qpd === undefined && p.key !== 'app')
      err(at, 'needs qps or qpd (only key app may take both from the app record)');
    if (p.burst !== undefined && p.qps === undefined) err(`${at}/burst`, 'needs qps');
    if (p.burst !== undefined && p.qps !== undefined && p.burst < p.qps)
      err(`${at}/burst`, `must be at least qps (${p.qps})`);
    (p.routes ?? []).forEach((r, ri) => {
      if (!routeNames.has(r)) err(`${at}/routes/${ri}`, `unknown route "${r}" in service "${svc.name}"`);
    });
    if (p.ipv6_prefix !== undefined && p.key !== 'client_ip')
      err(`${at}/ipv6_prefix`, `only a client_ip policy counts by address (this one's key is ${p.key ?? 'service'})`);
    if (p.time_zone !== undefined && !isTimeZone(p.time_zone))
      err(`${at}/time_zone`, `unknown time zone "${p.time_zone}"`);
  });
}
