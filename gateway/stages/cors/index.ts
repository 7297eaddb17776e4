import type { RouteStage } from '../../pipeline.ts';

/** CORS preflight and response headers (stub: filled in by the security issue's work). */
export const cors: RouteStage = {
  name: 'cors',
  scope: 'route',
  init: () => undefined,
};
