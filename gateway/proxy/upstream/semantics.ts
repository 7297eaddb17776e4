import type { UpstreamConfig } from '../../control/config/schema.ts';
import { checkTls } from './tls-files.ts';

type Report = (path: string, message: string) => void;

/** Upstream rules a schema cannot state, for a service's upstream and each canary group's; `base` is the upstream's
 * path. */
export function checkUpstream(up: UpstreamConfig, base: string, err: Report): void {
  if (up.targets.length === 0 && !up.dns) err(`${base}/targets`, 'at least one target (or upstream.dns) is required');
  if (up.targets.length > 0 && up.dns) err(`${base}/dns`, 'use either targets or dns, not both');
  const origins = new Set<string>();
  up.targets.forEach((t, ti) => {
    let origin: string;
    try {
      origin = new URL(t.url).origin;
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
  if (up.pool.keep_alive_max_ms < up.pool.keep_alive_ms) {
    err(`${base}/pool/keep_alive_max_ms`, `must be at least pool.keep_alive_ms (${up.pool.keep_alive_ms})`);
  }
  checkTls(up, base, err);
}
