import type { Config, RouteConfig, ServiceConfig } from '../control/config/schema.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Runtime } from './runtime.ts';
import type { RouteStats } from './route-stats.ts';
import { buildEdgeChain, buildRouteChain, type Handler } from './pipeline.ts';
import { RouteTable } from './router/route-table.ts';
import { lowerOps } from './stages/request-headers/index.ts';
import type { HeaderOps } from './stages/proxy/response-headers.ts';
import type { UpstreamPool } from './upstream/pool.ts';
import type { Steps } from './slices.ts';
import { compileStreams, type CompiledStream } from './streams/compile.ts';

export interface UpstreamGroup {
  /** `stable` for the service's own upstream, else the canary group's name. */
  name: string;
  weight: number;
  upstream: UpstreamPool;
}

export interface CompiledService {
  name: string;
  upstream: UpstreamPool;
  /** With a canary: stable first, then the canary groups; empty without one. */
  groups: UpstreamGroup[];
  /** The service as configured: what its stages compile from (auth, acl, rate_limits, canary, …). */
  config: ServiceConfig;
}

/** Key of a pool in the data plane's pool map: the service name for its own upstream (group ''), else service and
 * canary group. */
export function groupPoolKey(service: string, group: string): string {
  return group ? `${service}\u0000${group}` : service;
}

export interface CompiledRoute {
  name: string;
  config: RouteConfig;
  snapshotConfig: Config;
  service: CompiledService;
  chain: Handler[];
  responseOps: HeaderOps | undefined;
  /** Requests and latency of this route; survives reloads that keep the route's name. */
  stats: RouteStats;
  /** Process-long state and the current identity (read per request: it changes without a reload). */
  runtime: Runtime;
}

/** An immutable, compiled config: what one request runs on from start to end. */
export interface Snapshot {
  version: number;
  config: Config;
  table: RouteTable<CompiledRoute>;
  edgeChain: Handler[];
  metrics: GatewayMetrics;
  services: Map<string, CompiledService>;
  /** Stats of requests that matched no route (service and route labels ''). */
  unrouted: RouteStats;
  runtime: Runtime;
  /** The TCP streams by name (streams/compile.ts). */
  streams: Map<string, CompiledStream>;
}

/** Compiles `config` over `pools`, yielding after each service (slices.ts). */
export function* compileSnapshot(
  config: Config,
  version: number,
  metrics: GatewayMetrics,
  pools: Map<string, UpstreamPool>,
  runtime: Runtime,
): Steps<Snapshot> {
  const services = new Map<string, CompiledService>();
  const routes: { route: CompiledRoute; config: RouteConfig }[] = [];
  for (const svc of config.services) {
    const upstream = pools.get(svc.name)!;
    const groups: UpstreamGroup[] = svc.canary
      ? [
          { name: 'stable', weight: svc.canary.stable_weight, upstream },
          ...svc.canary.groups.map((g) => ({
            name: g.name,
            weight: g.weight,
            upstream: pools.get(groupPoolKey(svc.name, g.name))!,
          })),
        ]
      : [];
    const service: CompiledService = { name: svc.name, upstream, groups, config: svc };
    services.set(svc.name, service);
    svc.routes.forEach((rc, i) => {
      const name = rc.name ?? `${svc.name}-${i}`;
      const ops = lowerOps(rc.response_headers);
      const hasOps = ops.remove.length + Object.keys(ops.add).length + Object.keys(ops.set).length > 0;
      const route: CompiledRoute = {
        name,
        config: rc,
        snapshotConfig: config,
        service,
        chain: [],
        responseOps: hasOps ? ops : undefined,
        stats: metrics.routeStats.get(svc.name, name),
        runtime,
      };
      route.chain = buildRouteChain(route);
      routes.push({ route, config: rc });
    });
    yield;
  }
  const table = yield* RouteTable.build(routes, undefined, !config.proxy.paths.case_sensitive);
  const snapshot: Snapshot = {
    version,
    config,
    table,
    edgeChain: [],
    metrics,
    services,
    unrouted: metrics.routeStats.get('', ''),
    runtime,
    streams: compileStreams(config, pools),
  };
  snapshot.edgeChain = buildEdgeChain(snapshot);
  return snapshot;
}
