import type { RouteStage } from '../../pipeline.ts';
import { LinearRegex } from '../../router/linear-regex.ts';

/** `path` without as many leading segments as `prefix` has: the prefix's own segments, with whatever ;params they
 * carry. */
function dropSegments(path: string, prefix: string): string {
  let at = 0;
  for (let i = 0; i < prefix.length; i++) {
    if (prefix.charCodeAt(i) !== 47) continue;
    at = path.indexOf('/', at + 1);
    if (at === -1) return '/';
  }
  return path.slice(at);
}

/**
 * strip_prefix, then the regex rewrite (compiled once per route), then the
 * query is re-attached. The canonical path goes upstream, so the service sees
 * the path that was routed and authorised; a route with
 * forward_original_path sends the client's spelling instead.
 */
export const rewrite: RouteStage = {
  name: 'rewrite',
  scope: 'route',
  init: (route) => {
    const { strip_prefix: strip, rewrite: rw } = route.config;
    if (route.config.forward_original_path) {
      return (ctx) => {
        ctx.upstreamPath = ctx.query === '' ? ctx.originalPath : `${ctx.originalPath}?${ctx.query}`;
      };
    }
    const re = rw ? new LinearRegex(rw.regex) : undefined;
    const replacement = rw?.replacement ?? '';
    return (ctx) => {
      let path = ctx.forwardPath ?? ctx.path;
      if (strip && ctx.matchedPrefix && ctx.matchedPrefix !== '/') {
        path =
          ctx.forwardPath === undefined ? path.slice(ctx.matchedPrefix.length) : dropSegments(path, ctx.matchedPrefix);
        if (path.charCodeAt(0) !== 47) path = '/' + path;
      }
      if (re) {
        path = re.replace(path, replacement);
        if (path.charCodeAt(0) !== 47) path = '/' + path;
      }
      ctx.upstreamPath = ctx.query === '' ? path : `${path}?${ctx.query}`;
    };
  },
};
