/**
 * A stream as one connection runs on it: its config, its upstream pools and
 * the lists it checks, compiled with each config. A connection keeps the
 * CompiledStream it was accepted on to its end, whatever reloads come.
 */
import type { Config } from '../../control/config/schema.ts';
import { type CidrMatcher, compileCidrs, trustedProxies } from '../net/cidr.ts';
import { ServerNames } from '../net/server-names.ts';
import { groupPoolKey } from '../snapshot.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { StreamConfig } from './schema.ts';

export interface CompiledStream {
  name: string;
  config: StreamConfig;
  /** The stream's own upstream; undefined for SNI routes without a default. */
  upstream: UpstreamPool | undefined;
  /** SNI routes by the server names they take. */
  sni: ServerNames<SniRoute> | undefined;
  allow: CidrMatcher | undefined;
  deny: CidrMatcher | undefined;
  /** Who may send a PROXY header (`trusted_proxies`), when the stream accepts one. */
  trusted: CidrMatcher | undefined;
}

export interface SniRoute {
  name: string;
  upstream: UpstreamPool;
}

export function compileStreams(config: Config, pools: Map<string, UpstreamPool>): Map<string, CompiledStream> {
  const out = new Map<string, CompiledStream>();
  for (const s of config.streams) {
    let sni: CompiledStream['sni'];
    if (s.sni) {
      sni = new ServerNames();
      for (const r of s.sni) {
        const route = { name: r.name, upstream: pools.get(groupPoolKey(s.name, r.name))! };
        for (const name of r.server_names) sni.add(name, route);
      }
    }
    const acl = s.acl;
    out.set(s.name, {
      name: s.name,
      config: s,
      upstream: s.upstream ? pools.get(groupPoolKey(s.name, '')) : undefined,
      sni,
      allow: acl?.allow.length ? compileCidrs(acl.allow) : undefined,
      deny: acl?.deny.length ? compileCidrs(acl.deny) : undefined,
      trusted: s.proxy_protocol.accept ? trustedProxies(config.trusted_proxies ?? []) : undefined,
    });
  }
  return out;
}
