import type { Config } from '../../control/config/schema.ts';
import type { PoolConfig } from './pool-parts.ts';
import { streamUpstreams } from '../streams/upstream.ts';

/**
 * One upstream a config defines: a service's own (`group` '') or one of its canary groups', or a stream's own or
 * one of its SNI routes' (streams and services never share a name).
 */
export interface ConfiguredUpstream {
  /** The service's or stream's name. */
  service: string;
  group: string;
  upstream: PoolConfig;
}

/** Every upstream of a validated config, each service's followed by its canary groups', then the streams'. */
export function* upstreamsOf(config: Pick<Config, 'services' | 'streams'>): Generator<ConfiguredUpstream> {
  for (const svc of config.services) {
    yield { service: svc.name, group: '', upstream: svc.upstream };
    for (const g of svc.canary?.groups ?? []) yield { service: svc.name, group: g.name, upstream: g.upstream };
  }
  for (const stream of config.streams) for (const u of streamUpstreams(stream)) yield { service: stream.name, ...u };
}
