import type { RouteStage } from '../../pipeline.ts';

/**
 * Request size. Node's parser already rejects Content-Length with
 * Transfer-Encoding, duplicate lengths and malformed chunking (400, like nginx
 * and HAProxy); the transfer codings it lets through and nginx refuses are
 * refused at the edge (request-id stage).
 */
export const bodyLimit: RouteStage = {
  name: 'body-limit',
  scope: 'route',
  init: (route) => {
    // The service's limit replaces the global one both here (declared lengths) and in the proxy (chunked bodies,
    // counted as they stream).
    const own = route.service.config.max_body_bytes;
    const max = own ?? route.snapshotConfig.proxy.max_body_bytes;
    return (ctx) => {
      if (own !== undefined) ctx.maxBodyBytes = own;
      // Transfer codings were checked at the edge (request-id stage).
      const cl = ctx.req.headers['content-length'];
      if (max > 0 && cl !== undefined && Number(cl) > max)
        return ctx.reply('GW_ERR_BODY_TOO_LARGE', { connection: 'close' });
    };
  },
};
