import type { Config, UpstreamConfig } from '../../control/config/schema.ts';

/** One upstream a config defines: a service's own (`group` '') or one of its canary groups'. */
export interface ConfiguredUpstream {
  service: string;
  group: string;
  upstream: UpstreamConfig;
}

/** Every upstream of a validated config, each service's followed by its canary groups'. */
export function* upstreamsOf(config: Pick<Config, 'services'>): Generator<ConfiguredUpstream> {
  for (const svc of config.services) {
    yield { service: svc.name, group: '', upstream: svc.upstream };
    for (const g of svc.canary?.groups ?? []) yield { service: svc.name, group: g.name, upstream: g.upstream };
  }
}
