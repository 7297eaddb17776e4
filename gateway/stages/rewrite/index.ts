import type { RouteStage } from '../../pipeline.ts';

/** strip_prefix, then the regex rewrite (compiled once per route), then the query is re-attached. */
export const rewrite: RouteStage = {
  name: 'rewrite',
  scope: 'route',
  init: (route) => {
    const { strip_prefix: strip, rewrite: rw } = route.config;
    const re = rw ? new RegExp(rw.regex) : undefined;
    const replacement = rw?.replacement ?? '';
    return (ctx) => {
      let path = ctx.path;
      if (strip && ctx.matchedPrefix && ctx.matchedPrefix !== '/') {
        path = path.slice(ctx.matchedPrefix.length);
        if (path.charCodeAt(0) !== 47) path = '/' + path;
      }
      if (re) {
        path = path.replace(re, replacement);
        if (path.charCodeAt(0) !== 47) path = '/' + path;
      }
      ctx.upstreamPath = ctx.query === '' ? path : `${path}?${ctx.query}`;
    };
  },
};
