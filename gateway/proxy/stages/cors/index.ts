import type { RouteStage } from '../../pipeline.ts';
import type { RequestContext } from '../../context.ts';
import { accessMetrics } from '../ip-acl/metrics.ts';
import { compileCors, headersAllowed, type CorsPolicy } from './policy.ts';

/** Routes whose service answers CORS preflights; route-match lets a preflight reach them even when OPTIONS is not among
 * their methods. */
export const corsRoutes = new WeakSet<object>();

/**
 * CORS per service. A WebSocket handshake from an origin the service does not allow is refused
 * (GW_ERR_WEBSOCKET_ORIGIN): browsers open a WebSocket to any origin, with no preflight and nothing withheld from the
 * page, so the origins CORS names are enforced here. A preflight (OPTIONS + Origin + Access-Control-Request-Method)
 * is answered here, before authentication (browsers never send credentials on
 * one): 204 with the allow headers, or 403 GW_ERR_CORS_REJECTED when the
 * origin, method or a header is not allowed. Other requests go on; an allowed
 * Origin puts the allow-origin headers on the reply through
 * ctx.responseHeaders, which the proxy and ctx.reply (401, 429, …) both apply,
 * so scripts can read gateway errors too. A disallowed Origin on an ordinary
 * request is not refused: the browser withholds the response (CORS protects
 * the reader, not the server), like Kong and Envoy.
 */
export const cors: RouteStage = {
  name: 'cors',
  scope: 'route',
  init: (route) => {
    const conf = route.service.config.cors;
    if (!conf) return undefined;
    corsRoutes.add(route);
    const policy = compileCors(conf);
    const m = accessMetrics(route.runtime);
    const allowed = m.corsPreflights.labels(route.service.name, 'allowed');
    const rejected = m.corsPreflights.labels(route.service.name, 'rejected');
    return (ctx) => {
      const origin = ctx.headers.origin;
      if (origin === undefined) {
        ctx.addResponseHeaders(policy.varyOnly);
        return;
      }
      if (ctx.websocket && !policy.allowsOrigin(origin)) {
        ctx.addResponseHeaders(policy.varyOnly);
        return ctx.reply('GW_ERR_WEBSOCKET_ORIGIN');
      }
      const requestedMethod = ctx.headers['access-control-request-method'];
      if (ctx.req.method === 'OPTIONS' && requestedMethod !== undefined) {
        if (!preflightAllowed(policy, origin, requestedMethod, ctx.headers['access-control-request-headers'])) {
          rejected.inc();
          ctx.addResponseHeaders(policy.varyOnly);
          return ctx.reply('GW_ERR_CORS_REJECTED');
        }
        allowed.inc();
        return answerPreflight(ctx, policy, origin, requestedMethod);
      }
      ctx.addResponseHeaders(policy.allowsOrigin(origin) ? actualHeaders(policy, origin) : policy.varyOnly);
    };
  },
};

function preflightAllowed(policy: CorsPolicy, origin: string, method: string, headers: string | undefined): boolean {
  if (!policy.allowsOrigin(origin)) return false;
  if (!policy.anyMethod && !policy.methods.has(method)) return false;
  return headers === undefined || headersAllowed(policy, headers);
}

function actualHeaders(policy: CorsPolicy, origin: string): Record<string, string> {
  if (policy.wildcard) return policy.wildcard;
  const h: Record<string, string> = { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (policy.credentials) h['access-control-allow-credentials'] = 'true';
  if (policy.exposeHeaders) h['access-control-expose-headers'] = policy.exposeHeaders;
  return h;
}

function answerPreflight(ctx: RequestContext, policy: CorsPolicy, origin: string, method: string): false {
  const requestedHeaders = ctx.headers['access-control-request-headers'];
  const h: Record<string, string> = {
    'access-control-allow-origin': policy.wildcard ? '*' : origin,
    // Echoing the asked-for method and headers is what `*` means; a literal `*` is ignored by browsers on credentialed
    // requests.
    'access-control-allow-methods': policy.anyMethod ? method : policy.methodList,
    'access-control-max-age': policy.maxAge,
    'x-request-id': ctx.requestId,
  };
  if (!policy.wildcard) h.vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
  const allowHeaders = policy.anyHeader ? requestedHeaders : policy.headerList;
  if (allowHeaders) h['access-control-allow-headers'] = allowHeaders;
  if (policy.credentials) h['access-control-allow-credentials'] = 'true';
  ctx.res.writeHead(204, ctx.responseHeaders ? { ...ctx.responseHeaders, ...h } : h);
  ctx.res.end();
  return false;
}
