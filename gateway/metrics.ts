import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import eventLoopLag from 'prom-client/lib/metrics/eventLoopLag.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import version from 'prom-client/lib/metrics/version.js';
import { RouteStatsRegistry } from './proxy/route-stats.ts';
import { totalsCounter } from '../shared/totals-counter.ts';
import { createListenerMetrics } from './proxy/listeners/metrics.ts';
import { createWebSocketMetrics } from './proxy/websocket/metrics.ts';
import { createTracingMetrics } from './proxy/tracing/metrics.ts';
import { createStreamMetrics } from './proxy/streams/metrics.ts';

/** A metric that writes its own exposition text (RouteStatsRegistry's families). */
interface TextMetric {
  text(): Promise<string>;
}

const writeText = (Registry.prototype as unknown as { getMetricsAsString(metric: unknown): Promise<string> })
  .getMetricsAsString;

/**
 * prom-client's Registry, but a metric with a text() method writes its own
 * lines (the same text, written faster and with the event loop let run; see
 * route-stats.ts). Registry.metrics() calls getMetricsAsString per metric.
 */
export class GatewayRegistry extends Registry {
  getMetricsAsString(metric: unknown): Promise<string> {
    return typeof (metric as Partial<TextMetric>).text === 'function'
      ? (metric as TextMetric).text()
      : writeText.call(this, metric);
  }
}

/**
 * The data plane's metrics. Label values are bounded: service and route come
 * from config, status_class is one of 1xx-5xx, code from the error registry.
 * In cluster mode each worker has this registry and the primary aggregates.
 */
export function createGatewayMetrics(register: Registry = new GatewayRegistry()) {
  const registers = [register];
  /** The data plane points this at its in-flight count; read only at scrape time. */
  const inflightSource = { count: () => 0 };
  /** The data plane points this at its listener's open connections; read only at scrape time. */
  const connectionsSource = { count: (): Promise<number> => Promise.resolve(0) };
  // Requests and latency are counted per route as plain numbers (see route-stats.ts).
  const routeStats = new RouteStatsRegistry();
  for (const m of routeStats.metrics()) register.registerMetric(m as never);
  defaultMetricsButGc(register);
  exactGcHistogram(register);
  return {
    register,
    inflightSource,
    connectionsSource,
    routeStats,
    gatewayErrors: new Counter({
      name: 'tollgate_gateway_errors_total',
      help: 'Replies written by the gateway itself, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    grpcCalls: new Counter({
      name: 'tollgate_grpc_calls_total',
      help:
        'gRPC calls ended, by service, route and the gRPC status the client got (OK, CANCELLED, UNKNOWN, ' +
        'INVALID_ARGUMENT, DEADLINE_EXCEEDED, ... UNAUTHENTICATED: the 17 names of the gRPC spec), whether the ' +
        'upstream or the gateway set it. UNKNOWN: the call ended without one; CANCELLED also when the client left.',
      labelNames: ['service', 'route', 'grpc_status'] as const,
      registers,
    }),
    responsesAborted: new Counter({
      name: 'tollgate_responses_aborted_total',
      help:
        'Responses that did not reach the client whole: cut off by the gateway after their status line was ' +
        'sent (the client saw the status, then a closed connection), or left by a client halfway through ' +
        'sending its request (reason client_closed; status class 4xx for the 499 when nothing was ' +
        "sent), by service, status class and reason (the access event's error class, e.g. upstream_timeout).",
      labelNames: ['service', 'status_class', 'reason'] as const,
      registers,
    }),
    retries: new Counter({
      name: 'tollgate_upstream_retries_total',
      help:
        'Retries sent to another target after a failed connect, or a connection lost ' +
        "before any response, by service and canary group ('' for the service's own upstream).",
      labelNames: ['service', 'group'] as const,
      registers,
    }),
    targetHealthy: new Gauge({
      name: 'tollgate_upstream_target_healthy',
      help: '1 when the active health check passes (and the target is not ejected), else 0.',
      labelNames: ['service', 'target'] as const,
      registers,
      aggregator: 'min',
    }),
    ejections: new Counter({
      name: 'tollgate_upstream_ejections_total',
      help: 'Targets ejected by passive health checking.',
      labelNames: ['service', 'target'] as const,
      registers,
    }),
    inflight: new Gauge({
      name: 'tollgate_inflight_requests',
      help: 'Requests being served now.',
      registers,
      collect() {
        this.set(inflightSource.count());
      },
    }),
    clientConnections: new Gauge({
      name: 'tollgate_client_connections',
      help: 'Client connections open on the proxy listeners now.',
      registers,
      async collect() {
        this.set(await connectionsSource.count());
      },
    }),
    connectionsDropped: new Counter({
      name: 'tollgate_client_connections_dropped_total',
      help: 'Client connections closed on accept because proxy.max_connections were open.',
      registers,
    }),
    configVersion: new Gauge({
      name: 'tollgate_config_version',
      help: 'Version of the config this process serves.',
      registers,
      aggregator: 'min',
    }),
    events: createEventMetrics(register),
    listeners: createListenerMetrics(register),
    websocket: createWebSocketMetrics(register),
    streams: createStreamMetrics(register),
    tracing: createTracingMetrics(register),
  };
}

/**
 * prom-client's default metrics, all but `gc`: its GC observer would run
 * beside ours on every collection and feed a histogram exactGcHistogram takes
 * out of the registry anyway. These are the modules collectDefaultMetrics
 * calls, in its order (already in the bundle through prom-client's index); a
 * test checks the list against prom-client's own `metricsList`, so an upgrade
 * that adds or renames one fails it.
 */
export const DEFAULT_METRICS_BUT_GC = {
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
};

function defaultMetricsButGc(register: Registry): void {
  // collectDefaultMetrics' own defaults.
  const config = { register, eventLoopMonitoringPrecision: 10 };
  for (const collect of Object.values(DEFAULT_METRICS_BUT_GC)) collect(register, config);
}

const GC_METRIC = 'nodejs_gc_duration_seconds';
const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * prom-client's nodejs_gc_duration_seconds (15.1.3) records only the first
 * entry of each list its observer gets, and Node hands GCs that happen in one
 * turn of the loop over together, so it missed GCs: it counted one of four for
 * two back-to-back full GCs, and 2-4 of ~85 went missing in a 3 s allocation
 * loop. This puts the same metric (name, help, kind label, buckets) in its
 * place, fed every entry; prom-client's own observer is never started
 * (defaultMetricsButGc).
 */
function exactGcHistogram(register: Registry): void {
  const histogram = new Histogram({
    name: GC_METRIC,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.01, 0.1, 1, 2, 5],
    registers: [register],
  });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      histogram.observe({ kind }, entry.duration / 1000);
    }
  }).observe({ entryTypes: ['gc'] });
}

/** The event sink's counters: nothing is dropped without being counted here (and logged). */
export function createEventMetrics(register: Registry) {
  const registers = [register];
  /** The sink points these at its own plain counters; read only at scrape time. */
  const source = { emitted: () => 0, spoolBytes: () => 0, spoolEvents: () => 0, up: () => 0 };
  return {
    source,
    emitted: totalsCounter(
      { name: 'tollgate_events_emitted_total', help: 'Access events accepted by the sink.', registers },
      () => [[{}, source.emitted()]],
    ),
    dropped: new Counter({
      name: 'tollgate_events_dropped_total',
      help: 'Access events dropped, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    recovered: new Counter({
      name: 'tollgate_events_recovered_total',
      help:
        'Final events of requests open when the gateway last ended without closing them (killed, crashed), ' +
        'recorded at start from events.dir/unfinished.',
      registers,
    }),
    spoolBytes: new Gauge({
      name: 'tollgate_event_spool_bytes',
      help: 'Bytes of events kept on local disk (embedded log not yet consumed, or Kafka spool).',
      registers,
      collect() {
        this.set(source.spoolBytes());
      },
    }),
    spoolEvents: new Gauge({
      name: 'tollgate_event_spool_events',
      help: 'Events waiting in the Kafka spool.',
      registers,
      collect() {
        this.set(source.spoolEvents());
      },
    }),
    sinkUp: new Gauge({
      name: 'tollgate_event_sink_up',
      help: '1 when the sink can deliver (Kafka reachable; always 1 for embedded).',
      registers,
      collect() {
        this.set(source.up());
      },
    }),
  };
}

export type EventMetrics = ReturnType<typeof createEventMetrics>;

/**
 * Counted where configs are applied: the single process, or the cluster
 * primary. Never in a proxy worker's registry: the primary's /metrics would
 * then carry the family twice (the workers' empty one and its own), which
 * `promtool check metrics` refuses ("second HELP line").
 */
export function createControlMetrics(
  register: Registry,
  stores: Partial<Record<'config' | 'apps', { readonly up: boolean }>> = {},
) {
  // Read at each scrape from the stores' own state (log.ts, outageLog); only shared (Redis) stores report one.
  if (Object.keys(stores).length > 0) {
    new Gauge({
      name: 'tollgate_store_up',
      help:
        '1 while the shared (Redis) store answers, 0 from its first failure until a poll succeeds again, by ' +
        'store (config: the config versions; apps: the apps and ' +
        'signing keys). Proxying goes on meanwhile; admin writes get 503.',
      labelNames: ['store'] as const,
      registers: [register],
      collect() {
        for (const [store, health] of Object.entries(stores)) this.set({ store }, health.up ? 1 : 0);
      },
    });
  }
  return {
    reloads: new Counter({
      name: 'tollgate_config_reloads_total',
      help:
        'Config applies, by result (ok; invalid: refused by ' +
        'validation; error: the config store could not save it).',
      labelNames: ['result'] as const,
      registers: [register],
    }),
    restartPending: new Gauge({
      name: 'tollgate_config_restart_pending',
      help:
        'Settings of the serving config that differ from those the gateway started with and take effect on ' +
        'restart (proxy.listen, workers, store, events, ...; docs/operations.md lists them); 0: none.',
      registers: [register],
    }),
    conflicts: new Counter({
      name: 'tollgate_config_conflicts_total',
      help:
        'Admin edits and rollbacks whose compare-and-set append to the shared config store another node ' +
        'beat, by result (retried: the newer version was adopted and the ' +
        'edit tried again on it; gave_up: not tried again, the edit got 409).',
      labelNames: ['result'] as const,
      registers: [register],
    }),
  };
}

export type ControlMetrics = ReturnType<typeof createControlMetrics>;

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
