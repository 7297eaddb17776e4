import type { RouteStage } from '../../pipeline.ts';

/**
 * Request framing and size. Node's parser already rejects Content-Length with
 * Transfer-Encoding, duplicate lengths and malformed chunking (400, like nginx
 * and HAProxy); what it lets through and nginx refuses is refused here.
 */
export const bodyLimit: RouteStage = {
  name: 'body-limit',
  scope: 'route',
  init: (route) => {
    // The service's limit replaces the global one both here (declared lengths) and in the proxy (chunked bodies, counted as they stream).
    const own = route.service.config.max_body_bytes;
    const max = own ?? route.snapshotConfig.proxy.max_body_bytes;
    return (ctx) => {
      if (own !== undefined) ctx.maxBodyBytes = own;
      const h = ctx.req.headers;
      const te = h['transfer-encoding'];
      if (te !== undefined) {
        // nginx: 501 for any coding but chunked; HTTP/1.0 has no chunked framing at all.
        if (te.toLowerCase() !== 'chunked') return ctx.reply('GW_ERR_UNSUPPORTED_TRANSFER_ENCODING', { connection: 'close' });
        if (ctx.req.httpVersionMinor === 0) return ctx.reply('GW_ERR_AMBIGUOUS_FRAMING', { connection: 'close' });
      }
      const cl = h['content-length'];
      if (max > 0 && cl !== undefined && Number(cl) > max) return ctx.reply('GW_ERR_BODY_TOO_LARGE', { connection: 'close' });
    };
  },
};
