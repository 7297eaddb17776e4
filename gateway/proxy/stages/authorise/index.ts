import type { RouteStage } from '../../pipeline.ts';
import type { RequestContext } from '../../context.ts';
import { accessMetrics } from '../ip-acl/metrics.ts';
import { appIpMatcher } from './app-ips.ts';
import { anonymousMatcher, RouteGrants } from './grants.ts';

/** Each RBAC route's grants, for the case-insensitive check of the route a lower-cased path would reach. */
const routeGrants = new WeakMap<object, RouteGrants>();
const NO_ROLES: readonly string[] = [];

/**
 * Runs after authentication: the app's own IP list (App.allowedIps), then
 * RBAC when the service enables it. RBAC denies by default: an authenticated
 * app needs a role that grants this route and method (and path prefix, when
 * the grant names some); an unauthenticated request gets 401 unless its path
 * is one of auth.anonymous_paths (which the operator declared public).
 * The path checked is ctx.path, the canonical form route-match computed
 * (docs/path-handling.md), which is also the path the upstream receives.
 */
export const authorise: RouteStage = {
  name: 'authorise',
  scope: 'route',
  init: (route) => {
    const svc = route.service.config;
    const rbac = svc.rbac?.enabled ? svc.rbac : undefined;
    const authenticated = svc.auth !== undefined && svc.auth.type !== 'none';
    if (!rbac && !authenticated) return undefined;
    const runtime = route.runtime;
    const m = accessMetrics(runtime);
    const appDenied = m.ipDenied.labels(svc.name, 'app');
    if (!rbac) {
      return (ctx) => {
        const app = ctx.app;
        if (app !== undefined && app.allowedIps.length > 0 && !appIpMatcher(runtime, app).contains(ctx.clientIp)) {
          appDenied.inc();
          return ctx.reply('GW_ERR_IP_DENIED');
        }
      };
    }
    const foldCase = rbac.case_insensitive_paths;
    const grants = new RouteGrants(rbac, route.name, foldCase);
    routeGrants.set(route, grants);
    const anonymous = anonymousMatcher(svc.auth?.anonymous_paths ?? []);
    const unauthenticated = m.rbacDenied.labels(svc.name, route.name, 'unauthenticated');
    const noGrant = m.rbacDenied.labels(svc.name, route.name, 'no_grant');
    return (ctx) => {
      const path = ctx.path;
      const app = ctx.app;
      if (ctx.appId === '') {
        if (anonymous?.(path)) return;
        unauthenticated.inc();
        return ctx.reply('GW_ERR_UNAUTHORIZED');
      }
      if (app !== undefined && app.allowedIps.length > 0 && !appIpMatcher(runtime, app).contains(ctx.clientIp)) {
        appDenied.inc();
        return ctx.reply('GW_ERR_IP_DENIED');
      }
      // An app known only by a token claim (no registered record) holds no roles.
      const roles = app === undefined ? NO_ROLES : app.roles;
      const method = ctx.req.method ?? 'GET';
      const ok = foldCase ? foldedAllows(ctx, grants, roles, method) : grants.allows(roles, method, path);
      if (!ok) {
        noGrant.inc();
        return ctx.reply('GW_ERR_FORBIDDEN');
      }
    };
  },
};

/**
 * For upstreams that ignore case: `/ADMIN` must not reach the admin handler
 * through a broader route. The lower-cased path must be granted, and so must
 * the route of this service it would match if the router ignored case too.
 */
function foldedAllows(ctx: RequestContext, grants: RouteGrants, roles: readonly string[], method: string): boolean {
  const lower = ctx.path.toLowerCase();
  if (!grants.allows(roles, method, lower)) return false;
  if (lower === ctx.path) return true;
  const host = (ctx.req.headers.host ?? '').toLowerCase();
  const m = ctx.snapshot.table.match(method, ctx.host, host, lower, ctx.headers);
  if (m === undefined || m.route === ctx.route || m.route.service !== ctx.route!.service) return true;
  const other = routeGrants.get(m.route);
  return other === undefined || other.allows(roles, method, lower);
}
