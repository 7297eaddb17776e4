/**
 * A stream's upstream as the config an UpstreamPool is built from (PoolConfig), so
 * a TCP proxy shares the services' targets, balancers, discovery, passive and
 * active health and breaker. The HTTP-only parts get values that do nothing
 * here: a stream never asks its pool for an HTTP dispatcher.
 */
import type { UpstreamConfig } from '../../control/config/schema.ts';
import type { StreamConfig, StreamUpstreamConfig } from './schema.ts';
import type { PoolConfig } from '../upstream/pool-parts.ts';

export function asUpstreamConfig(up: StreamUpstreamConfig, stream: StreamConfig): PoolConfig {
  const active = up.health.active;
  return {
    balancer: up.balancer,
    // The hashing balancers take the client address: a connection has nothing else to hash.
    hash_on: { source: 'ip' } as UpstreamConfig['hash_on'],
    protocol: 'http/1.1',
    // Every target is tcp://, whichever source names it; the services' http scheme below goes unread.
    targetScheme: 'tcp',
    targets: up.targets,
    dns: up.dns && { ...up.dns, scheme: 'http' },
    discovery: up.discovery && {
      etcd: up.discovery.etcd,
      consul: up.discovery.consul && { ...up.discovery.consul, scheme: 'http' },
    },
    pool: {
      connections: 1,
      keep_alive_ms: 100,
      keep_alive_max_ms: 100,
      pipelining: 1,
      streams: 1,
      ping_interval_ms: 0,
      ping_timeout_ms: 1,
    },
    timeouts: { connect_ms: stream.timeouts.connect_ms, header_ms: 1, body_idle_ms: 1, total_ms: 0 },
    retries: 0,
    retry_budget: { ratio: 0, min_per_s: 0, window_ms: 1000 },
    breaker: { ...up.breaker, failure_statuses: [] },
    tls: up.tls,
    max_response_bytes: 0,
    max_response_header_bytes: 1024,
    health: {
      active: active && {
        ...active,
        kind: 'tcp',
        grpc_service: '',
        path: '/',
        expected_statuses: [],
        reuse_connection: false,
      },
      passive: { ...up.health.passive, failure_statuses: [] },
    },
  };
}

/** A stream's upstreams: `upstream` (group '') and each SNI route's (group: the route's name). */
export function* streamUpstreams(stream: StreamConfig): Generator<{ group: string; upstream: PoolConfig }> {
  if (stream.upstream) yield { group: '', upstream: asUpstreamConfig(stream.upstream, stream) };
  for (const r of stream.sni ?? []) yield { group: r.name, upstream: asUpstreamConfig(r.upstream, stream) };
}
