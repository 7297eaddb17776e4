import type { CompiledRoute } from '../../snapshot.ts';
import { policyState, type PolicyState } from './policy-state.ts';
import { redisLimitsFor, type RedisLimits } from './redis-store.ts';
import type { RateLimitPolicy, RateLimitStore } from './schema.ts';
import { ZoneDays } from './zone-day.ts';

export const KEY_SERVICE = 0;
export const KEY_ROUTE = 1;
export const KEY_CLIENT_IP = 2;
export const KEY_APP = 3;

/** One policy as a route runs it; numbers are 0 when unset. */
export interface CompiledPolicy {
  name: string;
  keyKind: number;
  /** The key of service- and route-keyed policies ('' and the route name). */
  fixedKey: string;
  /** For client_ip policies: the bits of an IPv6 address that make its key (128: the whole address). */
  ipv6Prefix: number;
  qps: number;
  burst: number;
  qpd: number;
  /** 1 when the app record may bring its own numbers (key app). */
  appNumbers: boolean;
  days: ZoneDays;
  state: PolicyState;
  /** Set for backend redis. */
  redis: RedisLimits | undefined;
  /** `${service}:${policy}:`, the start of this policy's Redis keys. */
  redisPrefix: string;
  failOpen: boolean;
  /** Share of the limits enforced locally while Redis is down. */
  insurance: number;
}

const KEY_KINDS: Record<RateLimitPolicy['key'], number> = {
  service: KEY_SERVICE,
  route: KEY_ROUTE,
  client_ip: KEY_CLIENT_IP,
  app: KEY_APP,
};

/** ZoneDays are shared per zone: the cached day bounds are then computed once a day per zone, not per policy. */
const zones = new Map<string, ZoneDays>();
function daysIn(zone: string): ZoneDays {
  let d = zones.get(zone);
  if (d === undefined) zones.set(zone, (d = new ZoneDays(zone)));
  return d;
}

/** The policies of the route's service that apply to this route, in config order. */
export function compilePolicies(route: CompiledRoute): CompiledPolicy[] {
  const store = route.snapshotConfig.rate_limit as RateLimitStore;
  const out: CompiledPolicy[] = [];
  for (const p of route.service.config.rate_limits ?? []) {
    if (p.routes.length > 0 && !p.routes.includes(route.name)) continue;
    const keyKind = KEY_KINDS[p.key];
    out.push({
      name: p.name,
      keyKind,
      fixedKey: keyKind === KEY_ROUTE ? route.name : '',
      ipv6Prefix: p.ipv6_prefix ?? 128,
      qps: p.qps ?? 0,
      burst: p.burst ?? p.qps ?? 0,
      qpd: p.qpd ?? 0,
      appNumbers: keyKind === KEY_APP,
      days: daysIn(p.time_zone),
      state: policyState(route.runtime, route.service.name, p.name, store.max_keys),
      redis: p.backend === 'redis' ? redisLimitsFor(route.runtime, store) : undefined,
      redisPrefix: `${route.service.name}:${p.name}:`,
      failOpen: p.on_redis_error === 'open',
      insurance: store.insurance_fraction,
    });
  }
  return out;
}
