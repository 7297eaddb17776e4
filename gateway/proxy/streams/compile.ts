/**
 * A stream as one connection runs on it: its config, its upstream pools and
 * the lists it checks, compiled with each config. A connection keeps the
 * CompiledStream it was accepted on to its end, whatever reloads come.
 */
import type { Config } from '../../control/config/schema.ts';
import { compileCidrs, type CidrMatcher } from '../net/cidr.ts';
import { groupPoolKey } from '../snapshot.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { StreamConfig } from './schema.ts';

export interface CompiledStream {
  name: string;
  config: StreamConfig;
  /** The stream's own upstream; undefined for SNI routes without a default. */
  upstream: UpstreamPool | undefined;
  /** SNI routes by exact name and by the domain under a wildcard (`example.com` for `*.example.com`). */
  sni: { exact: Map<string, SniRoute>; wildcard: Map<string, SniRoute> } | undefined;
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
      sni = { exact: new Map(), wildcard: new Map() };
      for (const r of s.sni) {
        const route = { name: r.name, upstream: pools.get(groupPoolKey(s.name, r.name))! };
        for (const n of r.server_names) {
          const name = n.toLowerCase();
          if (name.startsWith('*.')) sni.wildcard.set(name.slice(2), route);
          else sni.exact.set(name, route);
        }
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
      trusted: s.proxy_protocol.accept ? compileCidrs(config.trusted_proxies ?? []) : undefined,
    });
  }
  return out;
}

/** The SNI route of `serverName` (lower case): exact names first, then `*.` one label up. */
export function sniRoute(stream: CompiledStream, serverName: string): SniRoute | undefined {
  const sni = stream.sni!;
  const exact = sni.exact.get(serverName);
  if (exact !== undefined) return exact;
  const dot = serverName.indexOf('.');
  return dot > 0 ? sni.wildcard.get(serverName.slice(dot + 1)) : undefined;
}
