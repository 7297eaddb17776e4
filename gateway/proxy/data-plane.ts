import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { grpcStatusLabel } from './grpc/status.ts';
import { sameData } from '../control/config/same-data.ts';
import { ServerResponse as NodeServerResponse } from '../../shared/http.ts';
import type { Socket } from 'node:net';
import { errors, type ErrorCode } from '../errors.ts';
import type { EventSink } from './events/sink.ts';
import { RequestEvents, type ResponseWithContext } from './events/request-events.ts';
import { http1ResponseClass } from './events/group-commit.ts';
import { http2ResponseClass } from './listeners/http2.ts';
import { OpenRequests } from './events/open-requests.ts';
import type { Config } from '../control/config/schema.ts';
import { RequestContext } from './context.ts';
import type { UpstreamHealth } from '../control/types.ts';
import { healthOf } from './upstream/health/view.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { run } from './pipeline.ts';
import { compileSnapshot, groupPoolKey, type Snapshot } from './snapshot.ts';
import { runAtOnce, runSliced, type Steps } from './slices.ts';
import { UpstreamPool } from './upstream/pool.ts';
import { upstreamsOf } from './upstream/upstreams-of.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { endServerSpan } from './tracing/spans.ts';
import { QuietRelease } from '../process/memory.ts';
import { PROXY_LISTENER, ProxyListeners, type ProxyRequest, type ProxyResponse } from './listeners/set.ts';
import type { ListenerConfig } from './listeners/schema.ts';
import type { CountingRequest } from './net/counting-request.ts';
import { tlsVersionOf } from './net/tls-version.ts';
import { limitsOf } from './net/connection-limits.ts';
import type { Identity } from '../control/apps/types.ts';
import { StreamListeners } from './streams/listeners.ts';
import { clientAddressOf } from './listeners/proxy-protocol.ts';

/**
 * The longest stretch an apply holds the event loop before requests get a turn. A slice ends after the step that
 * crossed it: one upstream compared, one service compiled, 500 routes put in the route table, or its sort.
 */
const APPLY_SLICE_MS = 5;

/**
 * The proxy listener and everything a request touches. `apply` compiles a
 * validated config into a new immutable snapshot and swaps it in one
 * assignment; requests already running keep the snapshot they started with.
 */
export class DataPlane {
  private snapshot: Snapshot | undefined;
  private pools = new Map<string, UpstreamPool>();
  /** The last apply queued (settled, never rejected): the next runs after it. */
  private applying: Promise<void> = Promise.resolve();
  /** Set by close(): a config applied after it is dropped. */
  private closing = false;
  private readonly listeners: ProxyListeners;
  /** The TCP proxies of `streams`. */
  private readonly streams: StreamListeners;
  private readonly metrics: GatewayMetrics;
  private readonly log: Logger;
  private readonly accessLog: Logger | undefined;
  private inflight = 0;
  /** Requests taken so far; QuietRelease watches it. */
  private served = 0;
  private quietRelease: QuietRelease | undefined;
  /**
   * The class of this plane's responses: ServerResponse as it is until the
   * drain starts, when close() makes its writeHead send Connection: close.
   * So a request in flight at shutdown, whose head is not written yet, is
   * answered with Connection: close too, at no cost per request. One class
   * per plane, as tests run several in one process. With an event sink its
   * `end()` first commits the request's access event (group-commit.ts).
   */
  private readonly Response: typeof ServerResponse;
  /** HTTP/2's response class, made when a listener first needs it (it loads node:http2). */
  private Response2: typeof Http2ServerResponse | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Access events, when the config has a sink. */
  private readonly events: RequestEvents | undefined;
  /** Requests in flight: interim events should they stay open, and their end should their app be disabled. */
  private readonly open: OpenRequests;
  /** Outlives reloads: identity pushed by the control plane and stage state (limiters, breakers, caches). */
  readonly runtime: Runtime;

  constructor(
    initial: Config,
    version: number,
    metrics: GatewayMetrics,
    log: Logger,
    events?: { sink: EventSink | undefined; node: string },
  ) {
    this.metrics = metrics;
    this.log = log;
    this.events = events?.sink ? new RequestEvents(events.sink, events.node) : undefined;
    this.Response = http1ResponseClass(this.events?.commitThenEnd);
    this.accessLog = initial.log.access_log ? log.child({ type: 'access' }) : undefined;
    this.runtime = createRuntime(metrics, log);
    this.runtime.events = this.events;
    this.open = new OpenRequests(this.runtime);
    metrics.inflightSource.count = () => this.inflight;
    this.listeners = new ProxyListeners(
      initial,
      { http1: this.Response, http2: () => (this.Response2 ??= http2ResponseClass(this.events?.commitThenEnd)) },
      {
        handle: this.handle,
        rejected: (code, socket) => this.countRejected(code, socket),
        limits: (listener) => limitsOf(this.runtime, 'listener', listener),
      },
      metrics,
      log,
      this.addresses,
    );
    metrics.connectionsSource.count = () => this.listeners.connections();
    this.streams = new StreamListeners(initial, () => this.current, metrics, log, this.addresses);
    runAtOnce(this.applySteps(initial, version));
  }

  /** A request answered off the request path (parser error, CONNECT): counted as unrouted, in metrics and as an access
   * event. */
  private countRejected(code: ErrorCode, socket: Socket): void {
    this.metrics.gatewayErrors.inc({ code });
    this.snapshot?.unrouted.record(errors[code].status, 0);
    this.events?.rejected(code, clientAddressOf(socket), tlsVersionOf(socket));
  }

  get current(): Snapshot {
    return this.snapshot!;
  }

  /** Starts every proxy listener; resolves with proxy.listen's address (`addresses` has each listener's). */
  async listen(): Promise<{ host: string; port: number }> {
    await this.listeners.listen();
    await this.streams.listen();
    // Opt-in: memory a burst of traffic grew goes back once the data plane has been quiet a while.
    const quietMs = this.current.config.proxy.release_memory_after_idle_ms;
    if (quietMs > 0)
      this.quietRelease ??= new QuietRelease({
        served: () => this.served,
        quietMs,
        checkEveryMs: Math.min(10_000, quietMs),
      });
    return this.addresses.get(PROXY_LISTENER)!;
  }

  /** Each listener's and stream's address by name, while it listens (reloads add, move and remove them). */
  readonly addresses = new Map<string, { host: string; port: number }>();

  /**
   * Compiles `config` and swaps it in; resolves once it serves. Upstreams
   * whose config is unchanged keep their pools and health state. Applies run
   * one after another, each in slices of APPLY_SLICE_MS between which the
   * event loop answers requests on the config that served before.
   */
  apply(config: Config, version: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    const applied = this.applying.then(async () => {
      const listening = await runSliced(this.applySteps(config, version), APPLY_SLICE_MS);
      // Then once each listener and stream it starts has tried its address: a client told the config is applied
      // finds a new one listening (or it is waiting for its address, and says so).
      await listening;
    });
    this.applying = applied.catch(() => undefined);
    return applied;
  }

  private *applySteps(config: Config, version: number): Steps<Promise<void>> {
    const next = new Map<string, UpstreamPool>();
    const keep = new Set<UpstreamPool>();
    // One pool per service, plus one per canary group; each keeps its pool (and breaker) while its config is unchanged.
    for (const w of upstreamsOf(config)) {
      const key = groupPoolKey(w.service, w.group);
      const old = this.pools.get(key);
      if (old && sameData(old.config, w.upstream)) {
        next.set(key, old);
        keep.add(old);
      } else {
        const pool = new UpstreamPool(
          w.service,
          w.upstream,
          this.metrics,
          { log: (level, msg, fields) => this.log[level](fields, msg) },
          old,
          w.group,
        );
        pool.start();
        next.set(key, pool);
      }
      yield;
    }
    this.snapshot = yield* compileSnapshot(config, version, this.metrics, next, this.runtime);
    this.runtime.tracingControl.apply(config.tracing);
    const listening = Promise.all([this.listeners?.update(config), this.streams?.update(config)]);
    for (const pool of this.pools.values()) {
      if (keep.has(pool)) continue;
      // In-flight requests may still use a replaced pool (a retry, a slow body): close it after they can have finished.
      pool.retire(pool.config.timeouts.total_ms || 60000);
      // Its health series go unless the replacement publishes the same service and target.
      const successor = next.get(groupPoolKey(pool.service, pool.group));
      if (!successor) pool.forgetMetrics();
      for (const t of pool.targets) {
        if (!successor?.targets.some((s) => s.id === t.id))
          this.metrics.targetHealthy.remove({ service: pool.label, target: t.id });
      }
    }
    this.pools = next;
    this.metrics.configVersion.set(version);
    return listening.then(() => undefined);
  }

  private readonly handle = (
    request: ProxyRequest,
    response: ProxyResponse,
    listener: ListenerConfig,
    expectsContinue?: boolean,
  ): void => {
    const snap = this.snapshot!;
    // Node's HTTP/2 compatibility request and response offer what the stages use of IncomingMessage and
    // ServerResponse (headers with Host set from :authority, url, method, body stream, writeHead, end).
    const req = request as IncomingMessage;
    const res = response as ServerResponse;
    const ctx = new RequestContext(req, res, snap, performance.now(), this.events !== undefined, listener);
    if (expectsContinue === true) ctx.expectsContinue = true;
    this.inflight++;
    this.served++;
    this.open.add(ctx);
    (res as ResponseWithContext).tollgate = ctx;
    // 'close' comes once per response (Node guards it with _closed; done() checks too): `on` spares once()'s wrapper
    // and removal.
    res.on('close', this.onClose);
    // A bug in a stage must cost one request a 500, never the process.
    try {
      for (const h of snap.edgeChain) if (h(ctx) === false) return;
      run(ctx, ctx.route!.chain, 0, this.stageError);
    } catch (err) {
      this.stageError(ctx, err);
    }
  };

  private readonly stageError = (ctx: RequestContext, err: unknown): void => {
    this.log.error({ err, request_id: ctx.requestId }, 'pipeline stage failed');
    ctx.reply('GW_ERR_INTERNAL');
  };

  /** One shared listener (no closure per request); `this` of an event listener is the emitter. */
  private readonly onClose = ((plane: DataPlane) =>
    function (this: ResponseWithContext) {
      plane.done(this.tollgate);
    })(this);

  private done(ctx: RequestContext): void {
    if (ctx.finished) return;
    ctx.finished = true;
    this.open.delete(ctx);
    const res = ctx.res;
    // The client left before we answered: stop the upstream work it asked for.
    if (ctx.exchange)
      ctx.exchange.abort(Object.assign(new Error('client closed the connection'), { code: 'TOLLGATE_CLIENT_CLOSED' }));
    // An error code without a head sent: answered straight on the socket (a body slower than request_timeout_ms).
    const status =
      ctx.recordStatus ??
      (res.headersSent ? res.statusCode : ctx.errorCode !== undefined ? errors[ctx.errorCode].status : 499);
    // The client left while its request was still arriving, before its answer was whole: a broken exchange
    // whatever status went out (one that only stops reading a response after sending all of it is not counted).
    if (!ctx.req.complete) {
      // A body that never arrived whole (the client left or was too slow, the upstream failed or answered
      // early): bytes in are what the parser read, not the Content-Length declared (nor 0 while a stage
      // was reading it whole).
      ctx.bytesIn = (ctx.req as CountingRequest).bodyBytes;
      if (ctx.errorCode === undefined && !res.writableFinished) {
        ctx.clientLeftMidRequest = true;
        ctx.countAborted(status, 'client_closed');
      }
    }
    if (ctx.onDone) ctx.onDone(ctx, status);
    const committed = ctx.eventSeconds >= 0;
    const seconds = committed ? ctx.eventSeconds : (performance.now() - ctx.startMs) / 1000;
    const traceId = endServerSpan(ctx, status);
    (ctx.route ? ctx.route.stats : ctx.snapshot.unrouted).record(status, seconds, traceId);
    // Not committed at end(): the client left first, or the upstream answered while the body was arriving.
    if (this.events && !committed) this.events.record(ctx, status, seconds);
    if (ctx.errorCode) this.metrics.gatewayErrors.inc({ code: ctx.errorCode });
    if (ctx.grpc) {
      const grpc_status = grpcStatusLabel(ctx.grpcStatus, status === 499);
      this.metrics.grpcCalls.inc({ service: ctx.route?.service.name ?? '', route: ctx.route?.name ?? '', grpc_status });
    }
    if (this.accessLog) {
      this.accessLog.info({
        request_id: ctx.requestId,
        method: ctx.req.method,
        host: ctx.host,
        path: ctx.path,
        status,
        service: ctx.route?.service.name ?? '',
        route: ctx.route?.name ?? '',
        target: ctx.target?.id ?? '',
        client_ip: ctx.clientIp,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        code: ctx.errorCode,
        trace_id: ctx.span?.spanContext().traceId,
      });
    }
    if (--this.inflight === 0 && this.idleWaiters.length) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Apps and signing keys from the control plane; requests read it per request, so no recompile is needed. */
  setIdentity(identity: Identity): void {
    this.runtime.identity = identity;
  }

  health(): UpstreamHealth[] {
    return healthOf(this.pools.values());
  }

  /**
   * Graceful shutdown: stop accepting, close idle keep-alive connections, let
   * in-flight requests finish for up to `drainMs` (every response whose head
   * is written from now on carries Connection: close), then cut what is left
   * and close the upstream pools.
   */
  async close(drainMs: number): Promise<void> {
    const writeHead = NodeServerResponse.prototype.writeHead;
    this.Response.prototype.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      this.shouldKeepAlive = false;
      return writeHead.apply(this, args as Parameters<typeof writeHead>);
    } as typeof writeHead;
    this.quietRelease?.stop();
    // An apply under way finishes first, so its new pools are among those closed below.
    this.closing = true;
    await this.applying;
    // HTTP/2 clients get GOAWAY: no new streams, the open ones finish.
    const closed = [this.listeners.stopAccepting(), this.streams.stopAccepting()];
    for (const drain of this.runtime.drainers) drain();
    const deadline = Date.now() + drainMs;
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, drainMs);
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await this.streams.drained(deadline);
    this.listeners.closeAll();
    await this.streams.closeAll();
    await Promise.all(closed);
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    await Promise.all(this.runtime.closers.map((c) => c()));
  }
}
