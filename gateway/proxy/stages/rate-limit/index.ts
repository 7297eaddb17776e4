import type { RouteStage } from '../../pipeline.ts';
import { compilePolicies } from './compile.ts';
import { RouteLimiter } from './route-limiter.ts';

/**
 * QPS token buckets and QPD quotas (service, route, client IP or app keyed),
 * local or shared in Redis. Routes without a policy get no handler.
 */
export const rateLimit: RouteStage = {
  name: 'rate-limit',
  scope: 'route',
  init: (route) => {
    const policies = compilePolicies(route);
    if (policies.length === 0) return undefined;
    const limiter = new RouteLimiter(policies);
    return policies.some((p) => p.redis !== undefined) ? limiter.checkShared : limiter.checkLocal;
  },
};
