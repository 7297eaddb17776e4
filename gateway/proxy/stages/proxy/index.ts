import type { RouteStage } from '../../pipeline.ts';
import { Exchange } from './exchange.ts';

/** The last stage: pick a target, send the request, stream the answer back. */
export const proxy: RouteStage = {
  name: 'proxy',
  scope: 'route',
  init: (route) => (ctx) => {
    Exchange.start(ctx, route);
    return false;
  },
};
