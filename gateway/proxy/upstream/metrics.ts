import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewayMetrics } from '../../metrics.ts';
import { totalsCounter } from '../../../shared/totals-counter.ts';

/** A per-request count kept as a plain number, read at scrape time (shared/totals-counter.ts). */
export interface PlainCount {
  n: number;
}

/**
 * Breaker, retry-budget and canary metrics, registered once per registry (a
 * data plane's pools and its canary stage share them across reloads). Label
 * values come from config: service, group (canary group name, '' for the
 * service's own upstream), state (three values).
 */
function create(register: Registry) {
  const registers = [register];
  /** Keyed by service and group; one entry per pair ever configured in this process (config-bounded). */
  const canaryCounts = new Map<string, { service: string; group: string; count: PlainCount }>();
  return {
    canaryCounts,
    breakerState: new Gauge({
      name: 'tollgate_upstream_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 open, 2 half-open.',
      labelNames: ['service', 'group'] as const,
      registers,
      aggregator: 'max',
    }),
    discoveryStale: new Gauge({
      name: 'tollgate_discovery_stale',
      help:
        '1 while the registry of an upstream (etcd, Consul) fails and its last known targets serve; 0 in step with ' +
        'it.',
      labelNames: ['service', 'group', 'source'] as const,
      registers,
      aggregator: 'max',
    }),
    discoveryTargets: new Gauge({
      name: 'tollgate_discovery_targets',
      help: 'Targets an upstream has from its registry (etcd, Consul).',
      labelNames: ['service', 'group', 'source'] as const,
      registers,
      aggregator: 'max',
    }),
    breakerTransitions: new Counter({
      name: 'tollgate_upstream_breaker_transitions_total',
      help: 'Circuit breaker state changes, by the state entered.',
      labelNames: ['service', 'group', 'to'] as const,
      registers,
    }),
    breakerRejected: new Counter({
      name: 'tollgate_upstream_breaker_rejected_total',
      help: 'Requests answered 503 GW_ERR_CIRCUIT_OPEN without an upstream attempt.',
      labelNames: ['service', 'group'] as const,
      registers,
    }),
    ejectionsOverflow: new Counter({
      name: 'tollgate_upstream_ejections_overflow_total',
      help:
        'Passive ejections not made because ' +
        'health.passive.max_ejected_percent of the targets were already ejected.',
      labelNames: ['service'] as const,
      registers,
    }),
    retriesSkipped: new Counter({
      name: 'tollgate_upstream_retries_skipped_total',
      help: 'Retries not made because the retry budget was spent.',
      labelNames: ['service', 'group'] as const,
      registers,
    }),
    retriesLastResort: new Counter({
      name: 'tollgate_upstream_retries_last_resort_total',
      help:
        'Retries sent to a target passive ejection held out, because no eligible target was left to try ' +
        '(each is in tollgate_upstream_retries_total too). Steady counts mean ' +
        'ejections outlive the outages that caused them: targets restarted without active checks.',
      labelNames: ['service', 'group'] as const,
      registers,
    }),
    staleRetries: new Counter({
      name: 'tollgate_upstream_stale_connection_retries_total',
      help:
        'Requests sent again, on a fresh connection to the same target, because the kept-alive connection they ' +
        'went out on had just been closed by the target, or it refused their HTTP/2 stream after its GOAWAY ' +
        '(not in tollgate_upstream_retries_total). Steady counts on an HTTP/1.1 upstream mean ' +
        "pool.keep_alive_ms is above the target's own keep-alive timeout; on an h2c one, that the target " +
        'recycles its connections (gRPC max connection age).',
      labelNames: ['service', 'group'] as const,
      registers,
    }),
    canaryRequests: totalsCounter(
      {
        name: 'tollgate_canary_requests_total',
        help:
          "Requests routed by the canary stage, by upstream group ('' " +
          "for the service's own upstream, the config's stable group).",
        labelNames: ['service', 'group'] as const,
        registers,
      },
      () => [...canaryCounts.values()].map(({ service, group, count }) => [{ service, group }, count.n] as const),
    ),
  };
}

export type UpstreamMetrics = ReturnType<typeof create>;

const byRegistry = new WeakMap<Registry, UpstreamMetrics>();

export function upstreamMetrics(metrics: GatewayMetrics): UpstreamMetrics {
  let m = byRegistry.get(metrics.register);
  if (!m) {
    m = create(metrics.register);
    byRegistry.set(metrics.register, m);
  }
  return m;
}

/** The request count of one canary group; the same object across reloads, so the counter never goes back. */
export function canaryCount(metrics: GatewayMetrics, service: string, group: string): PlainCount {
  const counts = upstreamMetrics(metrics).canaryCounts;
  const key = `${service}\u0000${group}`;
  let entry = counts.get(key);
  if (!entry) {
    entry = { service, group, count: { n: 0 } };
    counts.set(key, entry);
  }
  return entry.count;
}
