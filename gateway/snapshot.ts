import type { Counter, Histogram } from 'prom-client';
import type { Config, RouteConfig } from './config/schema.ts';
import type { GatewayMetrics } from './metrics.ts';
import { buildEdgeChain, buildRouteChain, type Handler } from './pipeline.ts';
import { RouteTable } from './router/route-table.ts';
import { lowerOps } from './stages/request-headers/index.ts';
import type { HeaderOps } from './stages/proxy/response-headers.ts';
import type { UpstreamPool } from './upstream/pool.ts';

export interface CompiledService {
  name: string;
  upstream: UpstreamPool;
}

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export interface CompiledRoute {
  name: string;
  config: RouteConfig;
  snapshotConfig: Config;
  service: CompiledService;
  chain: Handler[];
  responseOps: HeaderOps | undefined;
  /** Metric children bound once, so a request does no label hashing. Index = status / 100 - 1. */
  requestsByClass: ReturnType<Counter<'service' | 'route' | 'status_class'>['labels']>[];
  duration: ReturnType<Histogram<'service' | 'route'>['labels']>;
}

/** An immutable, compiled config: what one request runs on from start to end. */
export interface Snapshot {
  version: number;
  config: Config;
  table: RouteTable<CompiledRoute>;
  edgeChain: Handler[];
  metrics: GatewayMetrics;
  services: Map<string, CompiledService>;
  /** Metric children for requests that matched no route. */
  unrouted: Pick<CompiledRoute, 'requestsByClass' | 'duration'>;
}

export function compileSnapshot(config: Config, version: number, metrics: GatewayMetrics, pools: Map<string, UpstreamPool>): Snapshot {
  const services = new Map<string, CompiledService>();
  const routes: { route: CompiledRoute; config: RouteConfig }[] = [];
  const bind = (service: string, route: string) => ({
    requestsByClass: STATUS_CLASSES.map((c) => metrics.requests.labels(service, route, c)),
    duration: metrics.duration.labels(service, route),
  });
  for (const svc of config.services) {
    const service: CompiledService = { name: svc.name, upstream: pools.get(svc.name)! };
    services.set(svc.name, service);
    svc.routes.forEach((rc, i) => {
      const name = rc.name ?? `${svc.name}-${i}`;
      const ops = lowerOps(rc.response_headers);
      const hasOps = ops.remove.length + Object.keys(ops.add).length + Object.keys(ops.set).length > 0;
      const route: CompiledRoute = {
        name, config: rc, snapshotConfig: config, service, chain: [],
        responseOps: hasOps ? ops : undefined, ...bind(svc.name, name),
      };
      route.chain = buildRouteChain(route);
      routes.push({ route, config: rc });
    });
  }
  const snapshot: Snapshot = {
    version, config, table: new RouteTable(routes), edgeChain: [], metrics, services, unrouted: bind('', ''),
  };
  snapshot.edgeChain = buildEdgeChain(snapshot);
  return snapshot;
}
