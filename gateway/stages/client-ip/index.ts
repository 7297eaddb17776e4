import type { EdgeStage } from '../../pipeline.ts';

/** Client address from trusted X-Forwarded-For (stub: filled in by the security issue's work). */
export const clientIp: EdgeStage = {
  name: 'client-ip',
  scope: 'edge',
  init: () => () => undefined,
};
