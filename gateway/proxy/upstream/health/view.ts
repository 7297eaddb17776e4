import type { UpstreamHealth } from '../../../control/types.ts';
import type { UpstreamPool } from '../pool.ts';

/** The admin API's view of each upstream's targets: weight, health verdict, ejection and connections in use. */
export function healthOf(pools: Iterable<UpstreamPool>): UpstreamHealth[] {
  const now = Date.now();
  return [...pools].map((pool) => ({
    service: pool.label,
    targets: pool.targets.map((t) => ({
      id: t.id,
      weight: t.weight,
      healthy: t.healthy,
      ejected: t.ejectedUntil > now,
      active: t.active,
    })),
    ...(pool.discovery ? { discovery: pool.discovery() } : {}),
  }));
}
