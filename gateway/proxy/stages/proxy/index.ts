import type { RouteStage } from '../../pipeline.ts';
import { Exchange } from './exchange.ts';
import { WebSocketTunnel } from '../../websocket/tunnel.ts';

/** The last stage: pick a target, send the request, stream the answer back (or, for a WebSocket, open a tunnel). */
export const proxy: RouteStage = {
  name: 'proxy',
  scope: 'route',
  init: (route) => (ctx) => {
    if (ctx.websocket) WebSocketTunnel.start(ctx, route);
    else Exchange.start(ctx, route);
    return false;
  },
};
