/**
 * The parts an UpstreamPool (pool.ts) builds from its upstream config: the
 * circuit breaker, the active health checker and the source of its targets.
 */
import type { UpstreamConfig } from '../../control/config/schema.ts';
import { outageLog } from '../../log.ts';
import { CircuitBreaker, stateNames } from './breaker.ts';
import { consulSource } from './discovery/consul.ts';
import { DnsSource } from './discovery/dns.ts';
import { etcdSource } from './discovery/etcd.ts';
import { originOf, type TargetSource } from './discovery/source.ts';
import { StaticSource } from './discovery/static.ts';
import { ActiveHealthChecker } from './health/active.ts';
import type { upstreamMetrics } from './metrics.ts';
import type { Target } from './target.ts';
import type { TlsConnectOptions } from './tls.ts';
import { tlsFailureReason } from './tls-errors.ts';

export interface PoolEvents {
  log(level: 'info' | 'warn', msg: string, fields: object): void;
}

/**
 * A fresh, closed breaker for an upstream whose config changed (an unchanged
 * one keeps its pool and its breaker), or none when it is off; either way the
 * state gauge says so.
 */
export function breakerFor(
  b: UpstreamConfig['breaker'],
  labels: { service: string; group: string },
  um: ReturnType<typeof upstreamMetrics>,
  events: PoolEvents,
): CircuitBreaker | undefined {
  if (!b.enabled) {
    um.breakerState.remove(labels);
    return undefined;
  }
  const breaker = new CircuitBreaker(
    {
      minRequests: b.min_requests,
      errorRatio: b.error_ratio,
      windowMs: b.window_ms,
      openMs: b.open_ms,
      halfOpenProbes: b.half_open_probes,
      failureStatuses: b.failure_statuses,
    },
    (to) => {
      um.breakerState.set(labels, to);
      um.breakerTransitions.inc({ ...labels, to: stateNames[to] });
      events.log(to === 1 ? 'warn' : 'info', `circuit ${stateNames[to].replace('_', '-')}`, labels);
    },
  );
  um.breakerState.set(labels, 0);
  return breaker;
}

/** The active checker of `health.active`, logging each target's change of state with its cause. */
export function activeCheckerFor(
  config: UpstreamConfig,
  tls: TlsConnectOptions | undefined,
  service: string,
  events: PoolEvents,
  on: { changed: (target: Target) => void; reached: (target: Target, startedMs: number) => void },
): ActiveHealthChecker | undefined {
  const a = config.health.active;
  if (!a) return undefined;
  return new ActiveHealthChecker(
    {
      kind: a.kind,
      grpcService: a.grpc_service,
      path: a.path,
      intervalMs: a.interval_ms,
      timeoutMs: a.timeout_ms,
      expectedStatuses: a.expected_statuses,
      healthyThreshold: a.healthy_threshold,
      unhealthyThreshold: a.unhealthy_threshold,
      reuseConnection: a.reuse_connection,
      host: a.host,
      tls,
      protocol: config.protocol,
    },
    (target, healthy, cause) => {
      on.changed(target);
      const why =
        cause === undefined
          ? {}
          : { err_code: cause.code ?? cause.name, err: cause.message, reason: tlsFailureReason(cause.code) };
      events.log(healthy ? 'info' : 'warn', healthy ? 'target healthy' : 'target unhealthy', {
        service,
        target: target.id,
        ...why,
      });
    },
    on.reached,
  );
}

/** A target source's outage, in the pool's log with its labels: when it begins, each minute, and when it ends. */
function sourceOutageLog(events: PoolEvents, labels: object, what: string) {
  return outageLog(
    {
      warn: (fields, msg) => events.log('warn', msg, { ...labels, ...fields }),
      info: (fields, msg) => events.log('info', msg, { ...labels, ...fields }),
    },
    what,
  );
}

/**
 * An upstream as a pool is built from it: a service's, or a TCP stream's made into one (streams/upstream.ts), whose
 * targets are `tcp://` whichever source names them (static, DNS, etcd or Consul).
 */
export type PoolConfig = UpstreamConfig & { targetScheme?: 'tcp' };

/** Whether two upstream configs read the same registry (the same discovery block). */
export function sameRegistry(a: UpstreamConfig, b: UpstreamConfig): boolean {
  return a.discovery !== undefined && JSON.stringify(a.discovery) === JSON.stringify(b.discovery);
}

/** The schemes an upstream's etcd values may name: a stream's tcp, else its protocol's (undefined: http and https). */
function etcdSchemes(config: PoolConfig): string[] | undefined {
  if (config.targetScheme) return [config.targetScheme];
  if (config.protocol === 'h2') return ['https'];
  return config.protocol === 'h2c' ? ['http'] : undefined;
}

/** Targets from etcd or Consul, their outages logged as they begin and end, their state in two gauges. */
function registrySourceFor(
  discovery: NonNullable<UpstreamConfig['discovery']>,
  config: PoolConfig,
  labels: { service: string; group: string },
  events: PoolEvents,
  um: ReturnType<typeof upstreamMetrics>,
): TargetSource {
  const kind = discovery.etcd ? 'etcd' : 'consul';
  const gauges = { ...labels, source: kind };
  const outage = sourceOutageLog(events, labels, `${kind} discovery`);
  const hooks = {
    onError: outage.onError,
    onOk: outage.onOk,
    onState: (stale: boolean, targets: number) => {
      um.discoveryStale.set(gauges, stale ? 1 : 0);
      um.discoveryTargets.set(gauges, targets);
    },
  };
  um.discoveryStale.set(gauges, 0);
  if (discovery.etcd) {
    const e = discovery.etcd;
    return etcdSource(
      {
        endpoints: e.endpoints,
        prefix: e.prefix,
        timeoutMs: e.timeout_ms,
        probeMs: e.probe_ms,
        schemes: etcdSchemes(config),
        username: e.username,
        passwordFile: e.password_file,
        tls: e.tls,
      },
      hooks,
    );
  }
  const c = discovery.consul!;
  return consulSource(
    {
      address: c.address,
      service: c.service,
      tag: c.tag,
      datacenter: c.datacenter,
      token: c.token,
      tokenFile: c.token_file,
      scheme: config.targetScheme ?? c.scheme,
      weightMeta: c.weight_meta,
      waitS: c.wait_s,
      tls: c.tls,
    },
    hooks,
  );
}

/** Static targets, a DNS name resolved again as its records' TTLs say, or a registry's (etcd, Consul). */
export function targetSourceFor(
  config: PoolConfig,
  labels: { service: string; group: string },
  events: PoolEvents,
  um: ReturnType<typeof upstreamMetrics>,
): TargetSource {
  const { service } = labels;
  if (config.discovery) return registrySourceFor(config.discovery, config, labels, events, um);
  if (!config.dns) {
    return new StaticSource(config.targets.map((t) => ({ origin: originOf(t.url), weight: t.weight })));
  }
  // A name that stays unresolvable is retried every 2 s: its outage is logged when it begins, each minute, and when
  // it ends.
  const dns = sourceOutageLog(events, { service }, `dns resolution of ${config.dns.name}`);
  return new DnsSource({
    hostname: config.dns.name,
    port: config.dns.port,
    scheme: config.targetScheme ?? config.dns.scheme,
    weight: config.dns.weight,
    minTtlMs: config.dns.min_ttl_ms,
    maxTtlMs: config.dns.max_ttl_ms,
    onError: dns.onError,
    onOk: dns.onOk,
  });
}
