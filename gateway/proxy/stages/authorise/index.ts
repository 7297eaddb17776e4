import type { RouteStage } from '../../pipeline.ts';
import type { CompiledRoute } from '../../snapshot.ts';
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
    const check = authorisation(route);
    if (check === undefined) return undefined;
    const svc = route.service.config;
    const m = accessMetrics(route.runtime);
    const counters = {
      ip: m.ipDenied.labels(svc.name, 'app'),
      unauthenticated: m.rbacDenied.labels(svc.name, route.name, 'unauthenticated'),
      grant: m.rbacDenied.labels(svc.name, route.name, 'no_grant'),
    };
    return (ctx) => {
      const refused = check(ctx);
      // Kept on the request: one that stays open is held to its app's rights as they change (RequestContext.withdrawn).
      if (refused === undefined) return void (ctx.authorisation = check);
      counters[refused].inc();
      return ctx.reply(REFUSALS[refused]);
    };
  },
};

type Refusal = 'ip' | 'unauthenticated' | 'grant';
const REFUSALS = {
  ip: 'GW_ERR_IP_DENIED',
  unauthenticated: 'GW_ERR_UNAUTHORIZED',
  grant: 'GW_ERR_FORBIDDEN',
} as const;

/** What of the route's authorisation a request fails, if anything (no side effects), or undefined when it has none. */
function authorisation(route: CompiledRoute): ((ctx: RequestContext) => Refusal | undefined) | undefined {
  const svc = route.service.config;
  const rbac = svc.rbac?.enabled ? svc.rbac : undefined;
  const authenticated = svc.auth !== undefined && svc.auth.type !== 'none';
  if (!rbac && !authenticated) return undefined;
  const runtime = route.runtime;
  const ipDenied = (ctx: RequestContext) =>
    ctx.app !== undefined && ctx.app.allowedIps.length > 0 && !appIpMatcher(runtime, ctx.app).contains(ctx.clientIp);
  if (!rbac) return (ctx) => (ipDenied(ctx) ? 'ip' : undefined);
  const foldCase = rbac.case_insensitive_paths;
  const grants = new RouteGrants(rbac, route.name, foldCase);
  routeGrants.set(route, grants);
  const anonymous = anonymousMatcher(svc.auth?.anonymous_paths ?? []);
  return (ctx) => {
    const path = ctx.path;
    if (ctx.appId === '') return anonymous?.(path) ? undefined : 'unauthenticated';
    if (ipDenied(ctx)) return 'ip';
    // An app known only by a token claim (no registered record) holds no roles.
    const roles = ctx.app === undefined ? NO_ROLES : ctx.app.roles;
    const method = ctx.req.method ?? 'GET';
    const ok = foldCase ? foldedAllows(ctx, grants, roles, method) : grants.allows(roles, method, path);
    return ok ? undefined : 'grant';
  };
}

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
