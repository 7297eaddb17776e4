import { isIP } from 'node:net';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';

export interface Endpoint {
  host: string;
  port: number;
  /** For a stream upstream with `tls`: its `server_name`, else the name the target was found by or written with;
   * undefined for an address (no SNI; the certificate must hold the address). */
  servername: string | undefined;
}

const endpoints = new WeakMap<Target, Endpoint>();

/** Where a stream connects for `target` (`tcp://host:port`), worked out once per target. */
export function upstreamEndpoint(target: Target, pool: UpstreamPool): Endpoint {
  let e = endpoints.get(target);
  if (e === undefined) {
    const url = new URL(target.origin);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const name = pool.config.tls?.server_name ?? target.hostname ?? (isIP(host) ? undefined : host);
    e = { host, port: Number(url.port), servername: name };
    endpoints.set(target, e);
  }
  return e;
}

/** connect options for TCP keep-alive after `keepalive_ms` without traffic (timeouts; 0: none); accept sets it too. */
export const keepAlive = (t: { keepalive_ms: number }) =>
  t.keepalive_ms > 0 ? { keepAlive: true, keepAliveInitialDelay: t.keepalive_ms } : undefined;
