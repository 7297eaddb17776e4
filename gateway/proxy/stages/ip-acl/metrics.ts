import { Counter } from 'prom-client';
import { stateOf, type Runtime } from '../../runtime.ts';

/**
 * Counters of the access-control stages (IP lists, RBAC, CORS), registered
 * once per runtime so reloads keep counting. Labels come from config
 * (service, route) or fixed sets, so cardinality is bounded.
 */
export function accessMetrics(runtime: Runtime) {
  return stateOf(runtime, 'acl:metrics', () => {
    const registers = [runtime.metrics.register];
    return {
      ipDenied: new Counter({
        name: 'tollgate_ip_denied_total',
        help: 'Requests refused by an IP list; list = service (acl) or app (allowedIps).',
        labelNames: ['service', 'list'] as const,
        registers,
      }),
      rbacDenied: new Counter({
        name: 'tollgate_rbac_denied_total',
        help: 'Requests refused by RBAC; reason = unauthenticated or no_grant.',
        labelNames: ['service', 'route', 'reason'] as const,
        registers,
      }),
      corsPreflights: new Counter({
        name: 'tollgate_cors_preflights_total',
        help: 'CORS preflights answered by the gateway; result = allowed or rejected.',
        labelNames: ['service', 'result'] as const,
        registers,
      }),
    };
  });
}
