import type { RouteStage } from '../../pipeline.ts';

/** SQL injection and XSS guard (stub: filled in by the security issue's work). */
export const guard: RouteStage = {
  name: 'guard',
  scope: 'route',
  init: () => undefined,
};
