import type { UpstreamConfig } from '../../control/config/schema.ts';
import { checkTls } from './tls-files.ts';
import { checkRegistry, type RegistryBlocks } from './discovery/semantics.ts';
import { targetUrlProblem } from './target.ts';

type Report = (path: string, message: string) => void;

/** Where an upstream's targets come from, as a service's and a stream's upstream both say it. */
interface TargetSources {
  targets: unknown[];
  dns?: unknown;
  discovery?: RegistryBlocks;
}

/** Exactly one of static targets, `dns` and `discovery`, and a discovery names exactly one registry, sound. */
export function checkTargetSources(up: TargetSources, base: string, err: Report, noneMessage: string): void {
  const d = up.discovery;
  const sources = [up.targets.length > 0 && 'targets', up.dns && 'dns', d && 'discovery'].filter(Boolean);
  if (sources.length === 0) err(`${base}/targets`, noneMessage);
  if (sources.length > 1)
    err(`${base}/${sources[1]}`, `use one of targets, dns and discovery, not ${sources.join(' and ')}`);
  if (d && (d.etcd === undefined) === (d.consul === undefined))
    err(`${base}/discovery`, 'name exactly one registry: etcd or consul');
  if (d) checkRegistry(d, base, err);
}

/** Upstream rules a schema cannot state, for a service's upstream and each canary group's; `base` is the upstream's
 * path. */
export function checkUpstream(up: UpstreamConfig, base: string, err: Report): void {
  checkTargetSources(up, base, err, 'at least one target (or upstream.dns, or upstream.discovery) is required');
  const origins = new Set<string>();
  up.targets.forEach((t, ti) => {
    let origin: string;
    try {
      const url = new URL(t.url);
      origin = url.origin;
      const problem = targetUrlProblem(url);
      if (problem !== undefined) err(`${base}/targets/${ti}/url`, problem);
    } catch {
      err(`${base}/targets/${ti}/url`, 'not a valid URL');
      return;
    }
    if (origins.has(origin)) err(`${base}/targets/${ti}/url`, `duplicate target ${origin}`);
    origins.add(origin);
  });
  const hashOn = up.hash_on;
  if (hashOn && ['header', 'cookie', 'query'].includes(hashOn.source) && !hashOn.name) {
    err(`${base}/hash_on/name`, `required when source is ${hashOn.source}`);
  }
  // etcd's values name their own scheme: one the protocol cannot speak is skipped at run time (discovery/etcd.ts).
  const schemes = up.dns
    ? [`${up.dns.scheme}:`]
    : up.discovery?.consul
      ? [`${up.discovery.consul.scheme}:`]
      : up.targets.map((t) => t.url.slice(0, t.url.indexOf(':') + 1));
  if (up.protocol === 'h2' && schemes.some((s) => s !== 'https:'))
    err(`${base}/protocol`, 'h2 is HTTP/2 over TLS: every target must be https (cleartext HTTP/2 is h2c)');
  if (up.protocol === 'h2c' && schemes.some((s) => s !== 'http:'))
    err(`${base}/protocol`, 'h2c is cleartext HTTP/2: every target must be http (over TLS it is h2)');
  if (up.health.active?.kind === 'grpc' && up.protocol === 'http/1.1')
    err(`${base}/health/active/kind`, 'a gRPC health check speaks HTTP/2: it needs upstream.protocol h2 or h2c');
  if (up.pool.keep_alive_max_ms < up.pool.keep_alive_ms) {
    err(`${base}/pool/keep_alive_max_ms`, `must be at least pool.keep_alive_ms (${up.pool.keep_alive_ms})`);
  }
  checkTls(up, base, err);
}
