import type { EdgeStage } from '../../pipeline.ts';
import type { RequestContext } from '../../context.ts';
import type { ListenerConfig } from '../../listeners/schema.ts';
import { splitAbsoluteForm } from '../route-match/index.ts';

/** Strict-Transport-Security of a listener, made once per listener config (the config is immutable). */
const hstsOf = new WeakMap<ListenerConfig, Record<string, string>>();

function hstsHeaders(listener: ListenerConfig): Record<string, string> | undefined {
  const hsts = listener.hsts;
  if (hsts === undefined) return undefined;
  let headers = hstsOf.get(listener);
  if (headers === undefined) {
    let value = `max-age=${hsts.max_age_s}`;
    if (hsts.include_subdomains) value += '; includeSubDomains';
    if (hsts.preload) value += '; preload';
    headers = Object.freeze({ 'strict-transport-security': value });
    hstsOf.set(listener, headers);
  }
  return headers;
}

/** The same URL over https: the host without its port, the configured port unless 443, the path as sent. */
export function httpsLocation(host: string, port: number, path: string): string {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return `https://${name}${port === 443 ? '' : `:${port}`}${path}`;
}

function redirect(ctx: RequestContext, redirect: NonNullable<ListenerConfig['redirect_https']>): false {
  let host = ctx.req.headers.host;
  let path = ctx.req.url ?? '/';
  // An absolute-form target (GET http://h/p) names the host itself, and a server must take it over Host (RFC 9112
  // 3.2.2), as routing does: redirected to Host's, a cache that keys on the target could keep a redirect elsewhere.
  if (path.charCodeAt(0) !== 47 /* / */) {
    const abs = splitAbsoluteForm(path);
    if (abs === undefined) return ctx.reply('GW_ERR_BAD_REQUEST');
    host = abs.authority;
    path = abs.path;
  }
  // HTTP/1.0 without Host: nowhere to send the client.
  if (!host) return ctx.reply('GW_ERR_BAD_REQUEST');
  ctx.res.writeHead(redirect.status, {
    location: httpsLocation(host, redirect.port, path),
    'content-length': 0,
    'x-request-id': ctx.requestId,
  });
  ctx.res.end();
  return false;
}

/**
 * What a listener asks of every request on it (listeners/schema.ts holds the
 * settings): a plain listener with `redirect_https` answers each with a
 * redirect to the same URL over https, before any route is looked at; a TLS
 * listener with `hsts` has every answer carry Strict-Transport-Security.
 */
export const https: EdgeStage = {
  name: 'https',
  scope: 'edge',
  init: () => (ctx) => {
    const listener = ctx.listener;
    if (listener.redirect_https !== undefined) return redirect(ctx, listener.redirect_https);
    if (listener.hsts !== undefined) ctx.addResponseHeaders(hstsHeaders(listener));
  },
};
