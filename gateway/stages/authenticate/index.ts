import type { RouteStage } from '../../pipeline.ts';

/** Authenticate the app (JWT, API key) (stub: filled in by the security issue's work). */
export const authenticate: RouteStage = {
  name: 'authenticate',
  scope: 'route',
  init: () => undefined,
};
