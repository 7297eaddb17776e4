import type { EdgeStage } from '../../pipeline.ts';
import { normalizePath } from '../../router/normalize.ts';

/** Host header → lower-case host without port. Handles `[v6]:port`, a bare host and a missing Host. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  let end = header.length;
  if (header.charCodeAt(0) === 91 /* [ */) {
    const close = header.indexOf(']');
    end = close === -1 ? header.length : close + 1;
  } else {
    const colon = header.indexOf(':');
    if (colon !== -1) end = colon;
  }
  return header.slice(0, end).toLowerCase();
}

export const routeMatch: EdgeStage = {
  name: 'route-match',
  scope: 'edge',
  init: (snapshot) => (ctx) => {
    const req = ctx.req;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    ctx.query = q === -1 ? '' : url.slice(q);
    if (rawPath.charCodeAt(0) !== 47 /* / */) return ctx.reply('GW_ERR_BAD_REQUEST');
    const path = normalizePath(rawPath);
    if (path === undefined) return ctx.reply('GW_ERR_BAD_REQUEST');
    ctx.path = path;
    const hostHeader = req.headers.host ?? '';
    ctx.host = hostOf(hostHeader);
    const m = snapshot.table.match(req.method ?? 'GET', ctx.host, hostHeader.toLowerCase(), path, req.headers);
    if (!m) return ctx.reply('GW_ERR_NO_ROUTE');
    ctx.route = m.route;
    ctx.matchedPrefix = m.prefix;
  },
};
