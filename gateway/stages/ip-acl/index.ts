import type { RouteStage } from '../../pipeline.ts';

/** IP allow and deny lists (stub: filled in by the security issue's work). */
export const ipAcl: RouteStage = {
  name: 'ip-acl',
  scope: 'route',
  init: () => undefined,
};
