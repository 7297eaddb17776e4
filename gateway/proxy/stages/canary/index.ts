import type { RequestContext } from '../../context.ts';
import type { RouteStage } from '../../pipeline.ts';
import { findValue } from '../../upstream/balancers/hash-key.ts';
import { canaryCount } from '../../upstream/metrics.ts';
import type { UpstreamPool } from '../../upstream/pool.ts';
import { GroupSelector } from './select.ts';

type KeyReader = (ctx: RequestContext) => string;

function firstValue(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : (v[0] ?? '');
}

/** The sticky key ('' = none: the request falls back to the weighted split). Built once per route. */
function stickyKey(source: string, name: string | undefined): KeyReader | undefined {
  switch (source) {
    case 'app':
      return (ctx) => ctx.appId;
    case 'header': {
      const header = name!.toLowerCase();
      return (ctx) => firstValue(ctx.headers[header]);
    }
    case 'cookie': {
      const needle = name + '=';
      return (ctx) => {
        const cookies = firstValue(ctx.headers.cookie);
        return cookies && findValue(cookies, needle, ';', true);
      };
    }
    default:
      return undefined;
  }
}

/**
 * Chooses the upstream group (stable or a canary) and hands its pool to the
 * proxy through `ctx.upstream`. Order: the force header (its `value` forces
 * `group`, a group's own name forces that group), then the sticky key's hash,
 * then smooth weighted round robin. Each group is a full UpstreamPool of its
 * own (balancer, health checks, breaker, retry budget).
 */
export const canary: RouteStage = {
  name: 'canary',
  scope: 'route',
  init: (route) => {
    const conf = route.service.config.canary;
    const groups = route.service.groups;
    if (!conf || groups.length < 2) return undefined;
    const pools: UpstreamPool[] = groups.map((g) => g.upstream);
    const selector = new GroupSelector(groups.map((g) => g.weight));
    const key = stickyKey(conf.sticky.source, conf.sticky.name);
    const forceHeader = conf.force_header.name.toLowerCase();
    const forceValue = conf.force_header.value;
    const forcedIndex = conf.force_header.group ? groups.findIndex((g) => g.name === conf.force_header.group) : 1;
    const byName = new Map(groups.map((g, i) => [g.name, i]));
    const forcers = conf.force_header.apps && new Set(conf.force_header.apps);
    // Labelled by the pool's group, as the breaker and retry metrics are: '' for the service's own upstream.
    const counts = groups.map((g) => canaryCount(route.runtime.metrics, route.service.name, g.upstream.group));
    return (ctx) => {
      let i = -1;
      const forced = ctx.headers[forceHeader];
      if (forced !== undefined && (forcers === undefined || forcers.has(ctx.appId))) {
        const v = firstValue(forced);
        i = v === forceValue ? forcedIndex : (byName.get(v) ?? -1);
      }
      if (i < 0) {
        const k = key === undefined ? '' : key(ctx);
        i = k === '' ? selector.next() : selector.byKey(k);
      }
      ctx.upstream = pools[i];
      counts[i].n++;
      return undefined;
    };
  },
};
