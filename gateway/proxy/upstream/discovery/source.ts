import { readFileSync } from 'node:fs';
import { Agent } from '../undici.ts';
import type { TlsFiles } from '../tls-files.ts';

/** One target as a discovery source reports it. */
export interface DiscoveredTarget {
  /** `scheme://host:port`, IPv6 hosts in brackets. */
  origin: string;
  weight: number;
  /**
   * The name the target was found by when `origin` holds a resolved address
   * (DNS): sent as Host (with the port unless it is the scheme's default) and
   * as the TLS server name, as nginx and Kong do; absent for static targets.
   */
  hostname?: string;
}

export type TargetsListener = (targets: DiscoveredTarget[]) => void;

/** How a registry-backed source stands, for the admin API (`GET /health`) and the console. */
export interface DiscoveryStatus {
  source: 'etcd' | 'consul';
  /** connecting: no sync yet; synced: in step with the registry; stale: it failed, the last good list serves. */
  state: 'connecting' | 'synced' | 'stale';
  targets: number;
  /** When the registry last answered (ISO 8601). */
  last_sync?: string;
  stale_since?: string;
  last_error?: string;
  /** Registry entries that are not usable targets, with why. */
  skipped: Array<{ entry: string; reason: string }>;
}

/**
 * A live list of targets for one upstream. The contract every source keeps:
 * - `onTargets` always receives the whole current list, never a delta, and
 *   only when it differs from the last one it sent;
 * - a failed refresh keeps the last good list (it is reported through the
 *   source's own `onError` option, not by emitting an empty list);
 * - `stop()` clears every timer and pending request, and `onTargets` is not
 *   called after it returns.
 *
 * Static targets and DNS (static.ts, dns.ts); etcd and Consul (etcd.ts, consul.ts) on the loop of registry.ts,
 * which also reports their status.
 */
export interface TargetSource {
  start(onTargets: TargetsListener): void;
  stop(): void;
  status?(): DiscoveryStatus;
  /** Targets known from before (the pool this one replaces), used until the source's first sync. */
  seed?(targets: DiscoveredTarget[], onTargets: TargetsListener): void;
}

/** scheme://host:port of a target URL; a tcp:// one has no origin by the URL standard ('null'), so it is made here. */
export function originOf(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return u.origin === 'null' ? `${u.protocol}//${u.host}` : u.origin;
}

/** A target's origin from its address, port and scheme (DNS records, registry entries); IPv6 hosts in brackets. */
export function originFor(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** A DNS name or an IPv4 address, or an IPv6 address with or without its brackets: nothing that ends a host. */
const REGISTRY_HOST = /^(?:\[?[0-9A-Fa-f.]*(?::[0-9A-Fa-f.]*)+\]?|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)$/;

/**
 * originFor for an address a registry holds as free text (etcd's `address`, Consul's service or node address), or
 * undefined when it is no host: `10.0.0.7/x` and `10.0.0.7?q` made origins undici refuses (every request the
 * balancer sent there a 500), `user@10.0.0.7` one with credentials, and `10.0.0.7:81` would name another port.
 */
export function registryOrigin(scheme: string, host: string, port: number): string | undefined {
  if (!REGISTRY_HOST.test(host)) return undefined;
  const origin = originFor(scheme, host, port);
  return URL.canParse(origin) ? origin : undefined;
}

/** The skip reason of an address registryOrigin refuses. */
export const notAHost = (host: string) =>
  `address ${JSON.stringify(host)} is not a host name or an IP address (no port, path or credentials)`;

/**
 * The HTTP client of one registry session (etcd.ts, consul.ts), its TLS files read now, so a renewed certificate
 * serves from the next session; the session's end (its signal) closes it.
 */
export function sessionAgent(
  tls: TlsFiles | undefined,
  timeoutMs: number,
  headersTimeoutMs: number,
  signal: AbortSignal,
): Agent {
  const connect: { timeout: number; ca?: string; cert?: string; key?: string } = { timeout: timeoutMs };
  if (tls?.ca_file !== undefined) connect.ca = readFileSync(tls.ca_file, 'utf8');
  if (tls?.cert_file !== undefined && tls.key_file !== undefined) {
    connect.cert = readFileSync(tls.cert_file, 'utf8');
    connect.key = readFileSync(tls.key_file, 'utf8');
  }
  const agent = new Agent({ connect, headersTimeout: headersTimeoutMs, bodyTimeout: 0 });
  signal.addEventListener('abort', () => void agent.destroy().catch(() => undefined), { once: true });
  return agent;
}

/** A secret from its file (a password, a token), read when a session starts: one trailing newline is not part of it. */
export function secretOf(file: string): string {
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}
