import type { RequestContext } from './context.ts';
import type { CompiledRoute, Snapshot } from './snapshot.ts';
import { requestId } from './stages/request-id/index.ts';
import { https } from './stages/https/index.ts';
import { via } from './stages/via/index.ts';
import { tokenEndpoint } from './stages/token-endpoint/index.ts';
import { routeMatch } from './stages/route-match/index.ts';
import { clientIp } from './stages/client-ip/index.ts';
import { grpc } from './stages/grpc/index.ts';
import { cors } from './stages/cors/index.ts';
import { ipAcl } from './stages/ip-acl/index.ts';
import { authenticate } from './stages/authenticate/index.ts';
import { authorise } from './stages/authorise/index.ts';
import { rateLimit } from './stages/rate-limit/index.ts';
import { guard } from './stages/guard/index.ts';
import { canary } from './stages/canary/index.ts';
import { bodyLimit } from './stages/body-limit/index.ts';
import { rewrite } from './stages/rewrite/index.ts';
import { requestHeaders } from './stages/request-headers/index.ts';
import { proxy } from './stages/proxy/index.ts';

/**
 * A stage continues (returns undefined) or ends the request with a reply
 * (returns false). It may return a promise when it must wait (a shared rate
 * limit); everything else stays synchronous so an ordinary request costs no
 * extra ticks.
 */
export type StageResult = void | false | Promise<void | false>;
export type Handler = (ctx: RequestContext) => StageResult;

/** Edge stages run for every request, before a route is known; undefined means "nothing to do with this config". */
export interface EdgeStage {
  name: string;
  scope: 'edge';
  init(snapshot: Snapshot): Handler | undefined;
}
/** Route stages are built per route; returning undefined means "nothing to do here". */
export interface RouteStage {
  name: string;
  scope: 'route';
  init(route: CompiledRoute): Handler | undefined;
}
export type Stage = EdgeStage | RouteStage;

/** The request path, in order. The proxy is always last. */
export const stages: readonly Stage[] = [
  requestId, // 1. keep a valid X-Request-Id or make one; refuse a malformed request
  via, // 2. a request that has come round through this gateway max_passes times → 508
  https, // 3. the listener's redirect to https, or its Strict-Transport-Security
  clientIp, // 4. the client address, from X-Forwarded-For only through trusted proxies
  tokenEndpoint, // 5. POST /oauth/token and GET /.well-known/jwks.json belong to the gateway
  routeMatch, // 6. host, path, method, headers → route, or 404
  cors, // 7. answer preflights before anything asks for credentials (a gRPC-Web call's too)
  grpc, // 8. a gRPC-only route refuses other requests; a call's grpc-timeout starts its deadline
  ipAcl, // 9. service and app IP allow / deny lists → 403
  authenticate, // 10. JWT, API key or client certificate → the app, or 401
  authorise, // 11. RBAC: the app's roles grant this route and method, or 403
  rateLimit, // 12. QPS token buckets and QPD quotas → 429
  guard, // 13. SQL injection and XSS → 403 or a log line
  bodyLimit, // 14. request body size and framing → 413 / 400
  canary, // 15. pick the upstream group (stable or canary)
  rewrite, // 16. strip_prefix, regex rewrite
  requestHeaders, // 17. hop-by-hop removal, X-Forwarded-*, Via, add/set/remove
  proxy, // 18. breaker → balance → upstream → stream the response back
];

export function buildEdgeChain(snapshot: Snapshot): Handler[] {
  const chain: Handler[] = [];
  for (const s of stages) {
    if (s.scope !== 'edge') continue;
    const h = s.init(snapshot);
    if (h) chain.push(h);
  }
  return chain;
}

export function buildRouteChain(route: CompiledRoute): Handler[] {
  const chain: Handler[] = [];
  for (const s of stages) {
    if (s.scope !== 'route') continue;
    const h = s.init(route);
    if (h) chain.push(h);
  }
  return chain;
}

/** Runs handlers from `i`; synchronous until a stage returns a promise. Throws go to `onError`. */
export function run(
  ctx: RequestContext,
  chain: readonly Handler[],
  i: number,
  onError: (ctx: RequestContext, err: unknown) => void,
): void {
  for (; i < chain.length; i++) {
    const r = chain[i](ctx);
    if (r === false) return;
    if (r !== undefined) {
      const next = i + 1;
      r.then(
        (v) => {
          if (v === false) return;
          try {
            run(ctx, chain, next, onError);
          } catch (err) {
            onError(ctx, err);
          }
        },
        (err) => onError(ctx, err),
      );
      return;
    }
  }
}
