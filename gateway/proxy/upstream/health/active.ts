import { Client, connector, protocolOptions } from '../undici.ts';
import type { Target } from '../target.ts';
import type { TlsConnectOptions } from '../tls.ts';
import { checkRequest, probeHttpFresh, type FreshHttpProbe } from './fresh-http-probe.ts';
import { probeHttp, type HttpProbe } from './http-probe.ts';
import { probeTcp } from './tcp-probe.ts';
import { probeGrpc } from './grpc-probe.ts';

export interface ActiveHealthOptions {
  kind: 'http' | 'tcp' | 'grpc';
  /** The service a gRPC check asks about ('' for the whole server). */
  grpcService?: string;
  /** Path probed by HTTP checks, starting with `/`; unused by TCP checks. */
  path: string;
  /** Time between the starts of two checks of one target. */
  intervalMs: number;
  /** A check slower than this fails: its connect and response head (and body, with reuseConnection). */
  timeoutMs: number;
  /** Exact HTTP statuses that count as healthy, e.g. [200, 204]; no ranges. */
  expectedStatuses: readonly number[];
  /** Consecutive successes that bring an unhealthy target back. */
  healthyThreshold: number;
  /** Consecutive failures that take a healthy target out. */
  unhealthyThreshold: number;
  /** Host header of HTTP checks; the target's own Host (its DNS name for discovered targets) when absent. */
  host?: string;
  /** HTTP checks keep one idle connection per target between checks (default: a new one per check). */
  reuseConnection?: boolean;
  /** The upstream's TLS settings (its pool's), so a target the proxy can reach is not marked down by a check that
   * trusts less. */
  tls?: TlsConnectOptions;
  /**
   * The upstream's protocol (default http/1.1). An HTTP/2 target is checked over HTTP/2 on one kept connection,
   * whatever reuseConnection says: a server that speaks only HTTP/2 (a gRPC server) would fail an HTTP/1.1 check.
   */
  protocol?: 'http/1.1' | 'h2' | 'h2c';
}

/** `cause`: why the last check failed when it threw (a connection or TLS error); undefined for an unexpected status. */
export type HealthChangeListener = (target: Target, healthy: boolean, cause?: NodeJS.ErrnoException) => void;

/**
 * Called after every passing check that opened a connection of its own (TCP, or HTTP without reuseConnection: a
 * check on a kept connection does not show the target takes new ones), with the epoch ms it started at; must not throw.
 */
export type CheckPassListener = (target: Target, startedMs: number) => void;

interface CheckState {
  readonly target: Target;
  successes: number;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  /** Set while a check runs; also how a settling check knows it was cancelled. */
  inFlight: AbortController | undefined;
  /** An HTTP check on a new connection, made at its first check. */
  fresh?: FreshHttpProbe;
}

/**
 * The first check of a target waits a random part of this share of the
 * interval, so targets added together are not probed in lock-step, yet a dead
 * target is still found soon after start.
 */
const FIRST_CHECK_JITTER = 0.2;

/**
 * Probes every target on its own timer and writes `target.healthy`.
 * A target's counters start at zero when it is first given, and it keeps its
 * current verdict (new Targets are healthy). `onChange` runs on transitions
 * only and must not throw.
 */
export class ActiveHealthChecker {
  readonly #options: ActiveHealthOptions;
  readonly #expectedStatuses: ReadonlySet<number>;
  readonly #onChange: HealthChangeListener;
  readonly #onPass: CheckPassListener | undefined;
  readonly #states = new Map<Target, CheckState>();
  #running = false;
  /**
   * Checks get their own connection per origin so they never queue behind
   * proxied requests. One Client per origin for as long as a target has it:
   * an Agent would close and remake its pool for the origin every time a
   * check's connection closed, which is every check by default.
   */
  readonly #clients = new Map<string, Client>();
  /** Connects the checks that open a connection each (HTTP without reuse_connection). */
  #connect: ReturnType<typeof connector> | undefined;

  constructor(options: ActiveHealthOptions, onChange: HealthChangeListener, onPass?: CheckPassListener) {
    for (const key of ['intervalMs', 'timeoutMs', 'healthyThreshold', 'unhealthyThreshold'] as const) {
      if (!(options[key] > 0)) throw new RangeError(`${key} must be positive, got ${options[key]}`);
    }
    // An HTTP/2 target is always checked on a kept connection (see `protocol`).
    const http2 = options.protocol !== undefined && options.protocol !== 'http/1.1';
    this.#options = { ...options, reuseConnection: options.reuseConnection === true || http2 };
    this.#expectedStatuses = new Set(options.expectedStatuses);
    this.#onChange = onChange;
    this.#onPass = onPass;
  }

  /** Replaces the checked set; targets are matched by identity. */
  setTargets(targets: readonly Target[]): void {
    const wanted = new Set(targets);
    for (const [target, state] of this.#states) {
      if (wanted.has(target)) continue;
      this.#cancel(state);
      this.#states.delete(target);
    }
    const origins = new Set(targets.map((t) => t.origin));
    for (const [origin, client] of this.#clients) {
      if (origins.has(origin)) continue;
      void client.destroy().catch(() => {});
      this.#clients.delete(origin);
    }
    for (const target of wanted) {
      if (this.#states.has(target)) continue;
      const state: CheckState = { target, successes: 0, failures: 0, timer: undefined, inFlight: undefined };
      this.#states.set(target, state);
      if (this.#running) this.#scheduleFirst(state);
    }
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const state of this.#states.values()) this.#scheduleFirst(state);
  }

  /** Clears every timer and aborts running checks; start() may follow. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    for (const state of this.#states.values()) this.#cancel(state);
    for (const client of this.#clients.values()) void client.destroy().catch(() => {});
    this.#clients.clear();
  }

  #scheduleFirst(state: CheckState): void {
    this.#schedule(state, Math.random() * this.#options.intervalMs * FIRST_CHECK_JITTER);
  }

  #schedule(state: CheckState, delayMs: number): void {
    state.timer = setTimeout(() => this.#tick(state), delayMs).unref();
  }

  #tick(state: CheckState): void {
    // Scheduling from the tick, not from the result, keeps the cadence even
    // when checks are slow; a tick that finds its check still running skips.
    this.#schedule(state, this.#options.intervalMs);
    if (state.inFlight === undefined) void this.#check(state);
  }

  #cancel(state: CheckState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    const controller = state.inFlight;
    state.inFlight = undefined;
    controller?.abort();
  }

  async #check(state: CheckState): Promise<void> {
    const controller = new AbortController();
    state.inFlight = controller;
    // When the timer fires, the abort waits for the I/O phase of the loop
    // (setImmediate runs after it). If this process's own loop was blocked past
    // the deadline (a long GC, a CPU-starved host), the timer comes due together
    // with an answer that arrived meanwhile, and timers run before I/O: without
    // the wait, the gateway's stall would be counted against the target.
    let abortSoon: NodeJS.Immediate | undefined;
    const timeout = setTimeout(() => {
      abortSoon = setImmediate(() => controller.abort(new Error('health check timed out'))).unref();
    }, this.#options.timeoutMs).unref();
    let ok: boolean;
    let cause: NodeJS.ErrnoException | undefined;
    const startedMs = Date.now();
    try {
      ok = await this.#probe(state, controller.signal);
    } catch (err) {
      ok = false;
      cause = err as NodeJS.ErrnoException;
    } finally {
      clearTimeout(timeout);
      clearImmediate(abortSoon);
    }
    // Cancelled by stop() or setTargets(): the result means nothing.
    if (state.inFlight !== controller) return;
    state.inFlight = undefined;
    this.#record(state, ok, cause);
    if (ok && (this.#options.kind === 'tcp' || !this.#options.reuseConnection)) this.#onPass?.(state.target, startedMs);
  }

  #probe(state: CheckState, signal: AbortSignal): Promise<boolean> {
    const { target } = state;
    if (this.#options.kind === 'tcp') return probeTcp(target.origin, signal);
    const { intervalMs, timeoutMs, reuseConnection } = this.#options;
    if (!reuseConnection) return probeHttpFresh((state.fresh ??= this.#freshProbe(target)), signal);
    // A reused connection must outlive the wait for the next check; undici
    // still closes it sooner when the upstream's Keep-Alive hint says so.
    const idleMs = intervalMs + timeoutMs + 1000;
    let client = this.#clients.get(target.origin);
    if (client === undefined) {
      const protocol = protocolOptions(this.#options.protocol ?? 'http/1.1', 1);
      client = new Client(target.origin, {
        connect: connector({ timeout: timeoutMs, ...protocol.connect, ...this.#options.tls }),
        ...protocol.client, // as the proxy's own pools
        keepAliveTimeout: idleMs,
        keepAliveMaxTimeout: idleMs,
      });
      this.#clients.set(target.origin, client);
    }
    if (this.#options.kind === 'grpc') {
      const grpc = { service: this.#options.grpcService ?? '', dispatcher: client, servername: target.servername };
      return probeGrpc(target.origin, grpc, signal);
    }
    const probe: HttpProbe = {
      path: this.#options.path,
      // A target found by DNS is checked under its name, as the proxy sends it.
      host: this.#options.host ?? target.host,
      servername: target.servername,
      expectedStatuses: this.#expectedStatuses,
      dispatcher: client,
      reuseConnection,
    };
    return probeHttp(target.origin, probe, signal);
  }

  #freshProbe(target: Target): FreshHttpProbe {
    const { timeoutMs, tls } = this.#options;
    const url = new URL(target.origin);
    return {
      // As undici's Client gives its connector: the address without IPv6 brackets, the port as the URL has it.
      endpoint: {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        host: url.host,
        port: url.port,
        servername: target.servername,
      },
      // A target found by DNS is checked under its name, as the proxy sends it.
      request: checkRequest(this.#options.path, this.#options.host ?? target.host),
      expectedStatuses: this.#expectedStatuses,
      connect: (this.#connect ??= connector({ timeout: timeoutMs, allowH2: false, ...tls })),
      lingerMs: timeoutMs,
    };
  }

  #record(state: CheckState, ok: boolean, cause: NodeJS.ErrnoException | undefined): void {
    const { target } = state;
    if (ok) {
      state.failures = 0;
      state.successes++;
      if (!target.healthy && state.successes >= this.#options.healthyThreshold) {
        target.healthy = true;
        this.#onChange(target, true);
      }
    } else {
      state.successes = 0;
      state.failures++;
      if (target.healthy && state.failures >= this.#options.unhealthyThreshold) {
        target.healthy = false;
        this.#onChange(target, false, cause);
      }
    }
  }
}
