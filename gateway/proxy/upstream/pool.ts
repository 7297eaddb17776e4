import { Pool, connector, protocolOptions } from './undici.ts';
import { H2cDispatcher } from './h2c-dispatcher.ts';
import { DeadlineQueue } from './deadlines.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { BalanceRequest, Balancer } from './balancer.ts';
import { balancers, type BalancerName } from './balancers/index.ts';
import { usableWeight } from './balancers/weights.ts';
import type { ActiveHealthChecker } from './health/active.ts';
import { PassiveHealth } from './health/passive.ts';
import type { DiscoveredTarget, DiscoveryStatus, TargetSource } from './discovery/source.ts';
import { Target } from './target.ts';
import type { CircuitBreaker } from './breaker.ts';
import { RetryBudget } from './retry-budget.ts';
import { upstreamMetrics } from './metrics.ts';
import { UpstreamFailureLog } from './failure-log.ts';
import { connectTls, settingsOf, type TlsConnectOptions } from './tls.ts';
import { tlsFailureReason } from './tls-errors.ts';
import { activeCheckerFor, breakerFor, type PoolConfig, sameRegistry, targetSourceFor } from './pool-parts.ts';

export type { PoolEvents } from './pool-parts.ts';
import type { PoolEvents } from './pool-parts.ts';

/** Counters a request may bump, resolved to their label children once per pool (no label lookup per request). */
interface PoolCounters {
  retries: { inc(): void };
  retriesSkipped: { inc(): void };
  retriesLastResort: { inc(): void };
  staleRetries: { inc(): void };
  breakerRejected: { inc(): void };
}

/**
 * One service's upstream: its targets, their connection pools, the balancer
 * and health checking. Built once per distinct upstream config; a reload that
 * leaves the upstream config unchanged keeps the same UpstreamPool (and so its
 * connections and health state).
 */
export class UpstreamPool {
  readonly service: string;
  /** Canary group name; '' for the service's own upstream. */
  readonly group: string;
  /** `service` in health metrics and the admin health view: `service/group` for a canary group (names cannot contain
   * '/'). */
  readonly label: string;
  readonly config: PoolConfig;
  /** Undefined unless `breaker.enabled`: the proxy pays one property read when it is off. */
  readonly breaker: CircuitBreaker | undefined;
  /** Undefined when `retries` is 0. */
  readonly retryBudget: RetryBudget | undefined;
  /** `timeouts.total_ms` for every exchange with this upstream, on one timer; undefined when it is 0 (none). */
  readonly totalTimeouts: DeadlineQueue | undefined;
  /**
   * `timeouts.header_ms` and `timeouts.body_idle_ms`, each on one timer for
   * the whole upstream, run by the exchanges (Exchange) rather than by undici.
   * undici's own header and body timers make an object per request (its
   * coarse timers live up to ~0.5 s after they are cleared), and so many of
   * them outlived the young generation that they were most of what the
   * gateway promoted to the old one, whose mark-compacts then stalled every
   * request in flight (docs/performance.md).
   */
  readonly headerTimeouts: DeadlineQueue;
  readonly bodyIdleTimeouts: DeadlineQueue;
  readonly counters: PoolCounters;
  targets: readonly Target[] = [];
  readonly passive: PassiveHealth;
  /** Why exchanges with this upstream's targets failed, logged at warn, throttled per target and error code. */
  readonly failures: UpstreamFailureLog;
  private balancer: Balancer;
  private readonly dispatchers = new Map<string, Pool | H2cDispatcher>();
  private readonly source: TargetSource;
  private readonly active: ActiveHealthChecker | undefined;
  private readonly metrics: GatewayMetrics;
  /** The upstream's `tls`, baked into every connector this pool and its checker build; undefined without a `tls` block.
   * */
  readonly tls: TlsConnectOptions | undefined;
  private closed = false;

  /** Retired or closed: no more health checks or discovery. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Target.available as one closure for the pool, not one per request. */
  readonly eligible = (t: Target): boolean => t.available();

  /** The pool this one replaces (same service, changed config): its targets' health carries over. */
  private previous: UpstreamPool | undefined;

  constructor(
    service: string,
    config: PoolConfig,
    metrics: GatewayMetrics,
    events: PoolEvents,
    previous?: UpstreamPool,
    group = '',
  ) {
    this.service = service;
    this.group = group;
    this.label = group ? `${service}/${group}` : service;
    this.previous = previous;
    this.config = config;
    this.metrics = metrics;
    this.tls = connectTls(config);
    this.balancer = this.makeBalancer([]);
    const um = upstreamMetrics(metrics);
    const labels = { service, group };
    this.counters = {
      retries: metrics.retries.labels(labels),
      retriesSkipped: um.retriesSkipped.labels(labels),
      retriesLastResort: um.retriesLastResort.labels(labels),
      staleRetries: um.staleRetries.labels(labels),
      breakerRejected: um.breakerRejected.labels(labels),
    };
    // Only the TLS files' content changed (a renewal): the breaker and the retry budget carry over.
    const renewal = previous !== undefined && settingsOf(previous.config) === settingsOf(config);
    const b = config.breaker;
    if (renewal) {
      this.breaker = previous.breaker;
    } else {
      this.breaker = breakerFor(b, labels, um, events);
    }
    const rb = config.retry_budget;
    this.totalTimeouts = config.timeouts.total_ms > 0 ? new DeadlineQueue(config.timeouts.total_ms) : undefined;
    this.headerTimeouts = new DeadlineQueue(config.timeouts.header_ms);
    this.bodyIdleTimeouts = new DeadlineQueue(config.timeouts.body_idle_ms);
    this.retryBudget = renewal
      ? previous.retryBudget
      : config.retries > 0
        ? new RetryBudget({ ratio: rb.ratio, minPerS: rb.min_per_s, windowMs: rb.window_ms })
        : undefined;
    this.passive = new PassiveHealth(
      {
        maxFailures: config.health.passive.max_failures,
        ejectionMs: config.health.passive.ejection_ms,
        failureStatuses: config.health.passive.failure_statuses,
        maxEjectedPercent: config.health.passive.max_ejected_percent,
      },
      (target: Target, ejected: boolean) => {
        if (ejected) metrics.ejections.inc({ service: this.label, target: target.id });
        this.publishHealth(target);
        events.log('warn', ejected ? 'target ejected' : 'target restored', { service, target: target.id });
      },
      () => this.targets,
      () => um.ejectionsOverflow.inc({ service: this.label }),
    );
    this.failures = new UpstreamFailureLog((fields) =>
      events.log('warn', 'upstream request failed', { ...fields, reason: tlsFailureReason(fields.err_code) }),
    );
    this.active = activeCheckerFor(config, this.tls, service, events, {
      changed: (target) => this.publishHealth(target),
      reached: (target, startedMs) => this.passive.recordReached(target, startedMs, Date.now()),
    });
    this.source = targetSourceFor(config, { service, group }, events, um);
  }

  /** The registry's status when the targets come from one (etcd, Consul). */
  get discovery(): (() => DiscoveryStatus) | undefined {
    const s = this.source;
    return s.status ? () => s.status!() : undefined;
  }

  start(): void {
    // A reload that kept the registry starts from the targets it knew: none is lost while the new watch connects.
    const before = this.previous;
    if (before && this.source.seed && sameRegistry(before.config, this.config)) {
      this.source.seed(
        before.targets.map((t) => ({ origin: t.origin, weight: t.weight })),
        (list) => this.setTargets(list),
      );
    }
    this.source.start((list) => this.setTargets(list));
    this.active?.start();
  }

  private makeBalancer(targets: readonly Target[]): Balancer {
    const hashOn = this.config.hash_on;
    return balancers[this.config.balancer as BalancerName](targets, {
      hashOn: hashOn ? { source: hashOn.source as 'ip', name: hashOn.name } : undefined,
    });
  }

  private setTargets(list: DiscoveredTarget[]): void {
    if (this.closed) return;
    const old = new Map(this.targets.map((t) => [t.id, t]));
    const inherited = new Map((this.previous?.targets ?? []).map((t) => [t.id, t]));
    this.previous = undefined;
    const next = list.map(({ origin, weight, hostname }) => {
      const kept = old.get(origin);
      if (kept && kept.weight === weight && kept.hostname === hostname) return kept;
      const t = new Target(origin, weight, hostname, this.config.tls?.server_name);
      // A reload or a weight change must not bring a dead target back until checks notice again.
      const before = kept ?? inherited.get(origin);
      if (before) {
        t.healthy = before.healthy;
        t.ejectedUntil = before.ejectedUntil;
        t.unreachableSince = before.unreachableSince;
        t.consecutiveFailures = before.consecutiveFailures;
      }
      return t;
    });
    const nextIds = new Set(next.map((t) => t.id));
    for (const t of this.targets) {
      if (nextIds.has(t.id)) continue;
      this.metrics.targetHealthy.remove({ service: this.label, target: t.id });
      const pool = this.dispatchers.get(t.id);
      this.dispatchers.delete(t.id);
      void pool?.close().catch(() => undefined);
    }
    this.targets = next;
    this.balancer = this.makeBalancer(next);
    this.active?.setTargets(next);
    for (const t of next) this.publishHealth(t);
  }

  private publishHealth(t: Target): void {
    this.metrics.targetHealthy.set({ service: this.label, target: t.id }, this.eligible(t) ? 1 : 0);
  }

  pick(req: BalanceRequest, tried?: ReadonlySet<Target>): Target | undefined {
    if (!tried) return this.balancer.pick(req, this.eligible);
    return this.balancer.pick(req, (t) => !tried.has(t) && this.eligible(t));
  }

  /**
   * A retry's target when pick(req, tried) found none: one not tried yet that
   * passive ejection holds out but the active checks, if any, do not call
   * down. Only a try the target sent nothing back to asks (a refused connect,
   * a connection lost before the response), and then an ejected target is a
   * better bet than a 502: without active checks nothing tells the gateway a
   * target ejected for going away is back, and in a rolling restart of two
   * targets the one restarting is the one max_ejected_percent keeps in (as
   * Envoy's panic threshold routes to ejected hosts, and nginx tries its
   * failed servers again once all are). Its answer ends that ejection
   * (PassiveHealth.recordReached).
   */
  pickEjected(req: BalanceRequest, tried: ReadonlySet<Target>): Target | undefined {
    // Every untried target that is healthy but not eligible is one passive ejection holds out.
    return this.balancer.pick(req, (t) => !tried.has(t) && t.healthy);
  }

  /**
   * Whether pick(req, tried) or pickEjected would find a target, asked
   * without picking: a pick not used would still move a balancer on (round
   * robin's cursor). Every balancer picks some target while one of usable
   * weight is eligible.
   */
  hasUntried(tried: ReadonlySet<Target>): boolean {
    for (const t of this.targets) if (usableWeight(t.weight) > 0 && !tried.has(t) && t.healthy) return true;
    return false;
  }

  dispatcher(target: Target): Pool | H2cDispatcher {
    let pool = this.dispatchers.get(target.id);
    if (!pool && this.config.protocol === 'h2c') {
      const c = this.config;
      pool = new H2cDispatcher(target.origin, {
        connectTimeoutMs: c.timeouts.connect_ms,
        streams: c.pool.streams,
        connections: c.pool.connections,
        idleMs: c.pool.keep_alive_ms,
        maxResponseBytes: c.max_response_bytes,
        maxHeaderBytes: c.max_response_header_bytes,
        ping:
          c.pool.ping_interval_ms > 0
            ? { intervalMs: c.pool.ping_interval_ms, timeoutMs: c.pool.ping_timeout_ms }
            : undefined,
      });
      this.dispatchers.set(target.id, pool);
    } else if (!pool) {
      const c = this.config;
      const protocol = protocolOptions(c.protocol, c.pool.streams, c.pool.ping_interval_ms);
      pool = new Pool(target.origin, {
        connections: c.pool.connections,
        pipelining: c.pool.pipelining,
        keepAliveTimeout: c.pool.keep_alive_ms,
        // An upstream that announces its own timeout is followed, less undici's 2 s margin, up to the ceiling.
        keepAliveMaxTimeout: c.pool.keep_alive_max_ms,
        connect: connector({ timeout: c.timeouts.connect_ms, ...protocol.connect, ...this.tls }),
        // header_ms and body_idle_ms run on the pool's deadline queues (headerTimeouts, bodyIdleTimeouts).
        headersTimeout: 0,
        bodyTimeout: 0,
        maxResponseSize: c.max_response_bytes > 0 ? c.max_response_bytes : -1,
        maxHeaderSize: c.max_response_header_bytes,
        // undici 8 would negotiate HTTP/2 with any TLS upstream that offers it: only upstream.protocol decides.
        ...protocol.client,
      });
      this.dispatchers.set(target.id, pool);
    }
    return pool;
  }

  /** The service or group left the config: drop its breaker series (health series are handled by the data plane). */
  forgetMetrics(): void {
    const um = upstreamMetrics(this.metrics);
    um.breakerState.remove({ service: this.service, group: this.group });
    for (const source of ['etcd', 'consul']) {
      um.discoveryStale.remove({ service: this.service, group: this.group, source });
      um.discoveryTargets.remove({ service: this.service, group: this.group, source });
    }
  }

  /** Replaced by a reload: stop checking now, close the connections after `graceMs`. */
  retire(graceMs: number): void {
    this.closed = true;
    this.active?.stop();
    this.source.stop();
    setTimeout(() => void this.close(), graceMs).unref();
  }

  /** Stops health checks and closes the pools once their in-flight requests finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.active?.stop();
    this.source.stop();
    this.failures.flush();
    const pools = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }
}

export type { BalanceRequest };
