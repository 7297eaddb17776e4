import type { RouteStage } from '../../pipeline.ts';

/** Weighted split between upstream groups (stub: filled in by the security issue's work). */
export const canary: RouteStage = {
  name: 'canary',
  scope: 'route',
  init: () => undefined,
};
