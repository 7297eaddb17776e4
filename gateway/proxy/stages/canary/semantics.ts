import type { ServiceConfig } from '../../../control/config/schema.ts';
import { checkUpstream } from '../../upstream/semantics.ts';

type Report = (path: string, message: string) => void;

/** Canary rules a schema cannot state; `base` is the service's path (`/services/N`). */
export function checkCanary(svc: ServiceConfig, base: string, err: Report): void {
  const c = svc.canary;
  if (!c) return;
  const cbase = `${base}/canary`;
  const names = new Set<string>();
  let total = c.stable_weight;
  c.groups.forEach((g, gi) => {
    const gbase = `${cbase}/groups/${gi}`;
    if (g.name === 'stable') err(`${gbase}/name`, '"stable" is the service\'s own upstream; pick another name');
    else if (names.has(g.name)) err(`${gbase}/name`, `duplicate group name "${g.name}"`);
    names.add(g.name);
    total += g.weight;
    checkUpstream(g.upstream, `${gbase}/upstream`, err);
  });
  if (total <= 0) err(`${cbase}/stable_weight`, "stable_weight plus the groups' weights must be above 0");
  if ((c.sticky.source === 'cookie' || c.sticky.source === 'header') && !c.sticky.name) {
    err(`${cbase}/sticky/name`, `required when source is ${c.sticky.source}`);
  }
  const forced = c.force_header.group;
  if (forced !== undefined && forced !== 'stable' && !names.has(forced))
    err(`${cbase}/force_header/group`, `no group named "${forced}"`);
}
