import type { RouteStage } from '../../pipeline.ts';

/** QPS and QPD limits, local or Redis (stub: filled in by the security issue's work). */
export const rateLimit: RouteStage = {
  name: 'rate-limit',
  scope: 'route',
  init: () => undefined,
};
