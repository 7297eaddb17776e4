import type { RouteStage } from '../../pipeline.ts';

/** Role-based access to routes and methods (stub: filled in by the security issue's work). */
export const authorise: RouteStage = {
  name: 'authorise',
  scope: 'route',
  init: () => undefined,
};
