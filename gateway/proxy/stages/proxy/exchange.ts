import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../../context.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import type { Target } from '../../upstream/target.ts';
import type { UpstreamPool } from '../../upstream/pool.ts';
import type { Deadline, DeadlineQueue } from '../../upstream/deadlines.ts';
import { PhaseDeadline } from './phase-deadline.ts';
import { GatewayError } from '../../../errors.ts';
import { classifyUpstreamError, isNoResponse, mayRetry, sendsAgainToTarget, STALE_RESENDS } from './classify.ts';
import { bodyErrorReply, http2Body, requestBody, resendBody, responseStarted } from './request-body.ts';
import { type TimeoutCode, timeoutError } from './request-body.ts';
import { bodySource, type InspectedBody } from '../../upstream/forward-body.ts';
import { responseHeaders } from './response-headers.ts';
import { heldHeads, type HeldHead } from './head-flush.ts';
import { declaresBody } from '../../net/declares-body.ts';
import { armDeadline } from '../../grpc/deadline.ts';
import { GRPC_STATUS } from '../../../../shared/grpc-status.ts';
import { grpcStatusIn, grpcStatusOfReset } from '../../grpc/status.ts';
import { endResponse } from './response-end.ts';
import { notTheTargets, recordFailure, recordStatus } from './outcome.ts';
import { admit, retryTarget } from './retry.ts';
import { endAttempt, startAttempt } from '../../tracing/spans.ts';

type Controller = Dispatcher.DispatchController;

/**
 * One attempt to send a request to one target, as an undici dispatch handler: the response streams straight into the
 * client's ServerResponse with backpressure both ways (the request body is piped by undici, which pauses the client
 * socket when the upstream is slow; the response pauses undici when the client is slow). Nothing is buffered whole.
 */
export class Exchange implements Dispatcher.DispatchHandler, Deadline, HeldHead {
  private readonly ctx: RequestContext;
  private readonly route: CompiledRoute;
  private readonly target: Target;
  /** The service's upstream, or the canary group the canary stage chose. */
  private readonly upstream: UpstreamPool;
  private readonly tried: Set<Target> | undefined;
  private readonly hasBody: boolean;
  /** The request body as handed to undici; another attempt gets it as resendBody makes it (unread, or kept). */
  private sentBody: Readable | InspectedBody | Buffer | null = null;
  private controller: Controller | undefined = undefined;
  private done = false;
  /** Links in the upstream's total-timeout queue (Deadline). */
  deadlineMs = 0;
  prevDeadline: Deadline | undefined = undefined;
  nextDeadline: Deadline | undefined = undefined;
  /** header_ms from the request sent to its status; then body_idle_ms, renewed by every chunk, paused with it. */
  private readonly phase = new PhaseDeadline(this);
  /** What the header clock still waits for: onRequestStart, and the end of the request body when there is one. */
  private unsent = 1;
  /** The final (non-1xx) response has started. */
  private responding = false;
  /** This attempt's outcome went to the breaker (once per attempt, never twice). */
  private recorded = false;
  /**
   * Attempts before this one sent again to their target (sendsAgainToTarget), at most STALE_RESENDS: each stale
   * connection lost takes one idle connection out of the pool, and a restarted target closes them all at once.
   */
  private resends = 0;
  /** Made on the first backpressure only; most responses never need it. */
  private resume: (() => void) | undefined = undefined;
  /** Runs while the client reads nothing (backpressure); proxy.send_timeout_ms. */
  private sendTimer: NodeJS.Timeout | undefined = undefined;
  /** Epoch ms of a retry sent to a target passive ejection holds out (UpstreamPool.pickEjected); else 0. */
  private lastResortMs = 0;
  /**
   * The response head, held from onResponseStart until the body's first chunk, or its end (sendHead; with a whole
   * declared body, the end): one write with the body, and an upstream broken before any body gets a 502. 0: none.
   */
  private headStatus = 0;
  private headFields: Record<string, string | string[]> | undefined = undefined;
  /** A gRPC call's deadline (grpc-timeout): fires once the time the client gave is up. */
  private deadlineTimer: NodeJS.Timeout | undefined = undefined;
  /** Body bytes the upstream declared (Content-Length) and has not sent yet; negative: none declared. */
  private bodyLeft = -1;
  /** The bytes that complete a declared body, held back to go with end() (onResponseData). */
  private lastChunk: Buffer | undefined = undefined;
  /** This attempt's CLIENT span while tracing is on. */
  private span: ReturnType<typeof startAttempt> = undefined;

  /** A request's first attempt; retries are sent by the failed attempt (retry). */
  static start(ctx: RequestContext, route: CompiledRoute): void {
    const upstream = ctx.upstream ?? route.service.upstream;
    const target = admit(ctx, upstream);
    if (target !== undefined) new Exchange(ctx, route, upstream, target, undefined).send();
  }

  private constructor(
    ctx: RequestContext,
    route: CompiledRoute,
    upstream: UpstreamPool,
    target: Target,
    tried: Set<Target> | undefined,
  ) {
    this.ctx = ctx;
    this.route = route;
    this.upstream = upstream;
    this.target = target;
    this.tried = tried;
    this.hasBody = declaresBody(ctx.req);
  }

  private send(): void {
    const { ctx, route, target } = this;
    const req = ctx.req;
    const headers = ctx.upstreamHeaders;
    if (!route.config.preserve_host) headers.host = target.host;
    ctx.target = target;
    this.span = startAttempt(ctx, target, (this.tried?.size ?? 0) + this.resends);
    if (ctx.grpcDeadlineMs > 0) {
      this.deadlineTimer = armDeadline(ctx, headers, () => this.expire('TOLLGATE_GRPC_DEADLINE'));
      if (this.deadlineTimer === undefined) return;
    }
    const upstream = this.upstream;
    const deadlines = upstream.totalTimeouts;
    if (deadlines !== undefined || ctx.recorded) {
      const now = performance.now();
      if (ctx.upstreamStartMs === 0) ctx.upstreamStartMs = now;
      deadlines?.add(this, now);
    }
    target.active++;
    ctx.exchange = this;
    let body: Readable | InspectedBody | Buffer | null = null;
    const protocol = upstream.config.protocol;
    if (this.hasBody) {
      body = this.sentBody ??= requestBody(ctx, protocol !== 'http/1.1');
      // As undici's own header timeout, which did not fire while a body was still being written:
      // the header clock starts once undici has read the whole body (a long upload is not a slow upstream).
      if (!Buffer.isBuffer(body) && !bodySource(body).readableEnded) {
        this.unsent++;
        bodySource(body).once('end', () => this.requestSent());
      }
    }
    upstream.dispatcher(target).dispatch(
      {
        path: ctx.upstreamPath,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        // undici's h2 client takes a stream body cheapest as an iterable; h2c upstreams have their own (H2cDispatcher).
        body: protocol === 'h2' && body !== null && !Buffer.isBuffer(body) ? http2Body(body) : body,
        // The target's own name, also under preserve_host: undici would take the Host's, the client's there.
        servername: target.servername,
      } as Dispatcher.DispatchOptions,
      this,
    );
  }

  abort(reason: Error): void {
    this.controller?.abort(reason);
  }

  /**
   * total_ms is up (or a gRPC call's deadline). A request still queued in undici (every connection busy) has no
   * controller yet: it gets its 504 now, and undici drops it when it starts.
   */
  expire(code: TimeoutCode = 'TOLLGATE_TOTAL_TIMEOUT'): void {
    const err = timeoutError(code, this.ctx.req, this.controller ? this.sentBody : null);
    if (this.controller) this.controller.abort(err);
    else this.onResponseError(undefined, err);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    // The client left, or the request timed out while it waited for a connection.
    if (this.ctx.finished || this.done)
      controller.abort(new GatewayError('TOLLGATE_CLIENT_CLOSED', 'client closed the connection'));
    else this.requestSent();
  }

  /** One of the things the header clock waits for happened (unsent); the last starts it: the request went whole. */
  private requestSent(): void {
    if (--this.unsent !== 0 || this.done) return;
    this.ctx.forwarded = true;
    if (!this.responding) this.phase.enter(this.upstream.headerTimeouts, performance.now());
  }

  /** header_ms or body_idle_ms is up (the phase's queue says which): the exchange and its connection are aborted. */
  phaseExpired(queue: DeadlineQueue | undefined): void {
    const code = queue === this.upstream.headerTimeouts ? 'TOLLGATE_HEADERS_TIMEOUT' : 'TOLLGATE_BODY_IDLE_TIMEOUT';
    this.controller?.abort(timeoutError(code, this.ctx.req, this.sentBody));
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return;
    // Past 599 is no status (RFC 9110 15), and HTTP/2 cannot carry one: a bad gateway to every client, as nginx's.
    const invalid = statusCode > 599 && new GatewayError('TOLLGATE_INVALID_STATUS', `invalid status ${statusCode}`);
    if (invalid) return void controller.abort(invalid);
    this.responding = true;
    responseStarted(this.sentBody);
    this.phase.enter(this.upstream.bodyIdleTimeouts, performance.now());
    this.ctx.upstreamStatus = statusCode;
    const upstream = this.upstream;
    const max = upstream.config.max_response_bytes;
    const declared = Number(headers['content-length'] ?? -1);
    // undici enforces the limit while the body streams; a declared length over it is refused before the head goes out.
    if (max > 0 && declared > max) {
      controller.abort(new GatewayError('TOLLGATE_RESPONSE_TOO_LARGE', 'response too large'));
      return;
    }
    this.recorded = recordStatus(upstream, this.target, statusCode, this.lastResortMs);
    const fields = responseHeaders(
      headers,
      this.route.responseOps,
      this.ctx.requestId,
      this.ctx.responseHeaders,
      statusCode,
    );
    if (this.ctx.req.method === 'HEAD' || statusCode === 204 || statusCode === 304) {
      this.ctx.res.writeHead(statusCode, fields).end();
      return;
    }
    const web = this.ctx.grpcWeb?.translated === true;
    if (web) this.ctx.grpcWeb!.translateHead(fields);
    this.headStatus = statusCode;
    this.headFields = fields;
    this.bodyLeft = web ? -1 : declared;
    // Sent with the first chunk when it comes in the same read (nearly always), else two turns of the loop later
    // (heldHeads): an event stream, a long poll or a slow download shows its head as the upstream sent it.
    heldHeads.hold(this);
  }

  private sendHead(): void {
    this.ctx.res.writeHead(this.headStatus, this.headFields);
    this.headStatus = 0;
    this.headFields = undefined;
  }

  flushHeldHead(): void {
    if (this.headStatus === 0 || this.done) return;
    this.sendHead();
    this.ctx.res.flushHeaders();
  }

  onResponseData(controller: Controller, data: Buffer): void {
    this.ctx.messagesOut?.push(data);
    const chunk = this.ctx.grpcWeb?.translated ? this.ctx.grpcWeb.encode(data) : data;
    this.ctx.bytesOut += chunk.length;
    // The bytes that complete a declared length complete the answer for an HTTP/1.1 client: they go with end(),
    // which waits for the access event to reach the log (an answered request is never lost), and so does a head
    // still held: an HTTP/2 client gets HEADERS, DATA and END_STREAM in one write, not two (decision 22).
    if (this.bodyLeft > 0 && (this.bodyLeft -= chunk.length) === 0) {
      this.lastChunk = chunk;
      return;
    }
    if (this.headStatus !== 0) this.sendHead();
    if (this.ctx.res.write(chunk)) {
      // Every change to the entry goes through `phase`, which knows the one queue it may be in.
      this.phase.renew();
    } else {
      controller.pause();
      // Paused by the gateway, the upstream is not idle: body_idle_ms waits until the client drains.
      this.phase.leave();
      this.resume ??= () => {
        if (this.sendTimer !== undefined) clearTimeout(this.sendTimer);
        this.sendTimer = undefined;
        if (!this.done) this.phase.enter(this.upstream.bodyIdleTimeouts, performance.now());
        this.controller?.resume();
      };
      this.ctx.res.once('drain', this.resume);
      // body_idle_ms cannot fire while the gateway holds the upstream paused, so a client that stopped reading
      // would keep both connections for good: cut, it ends the request as a client that leaves does.
      const ms = this.ctx.snapshot.config.proxy.send_timeout_ms;
      if (ms > 0) {
        const res = this.ctx.res;
        // One timer per stall, should a chunk already parsed arrive while paused.
        if (this.sendTimer !== undefined) clearTimeout(this.sendTimer);
        this.sendTimer = setTimeout(() => res.destroy(), ms);
      }
    }
  }

  onResponseEnd(_controller: Controller, trailers: Record<string, string | string[] | undefined>): void {
    this.finish();
    const ctx = this.ctx;
    if (ctx.grpc) ctx.grpcStatus = grpcStatusIn(trailers, this.headFields);
    const web = ctx.grpcWeb?.translated ? ctx.grpcWeb : undefined;
    // gRPC-Web's status is the body's last frame (none for a trailers-only answer: the head holds it).
    const last = web ? web.endFrame(trailers) : this.lastChunk;
    if (web && last) ctx.bytesOut += last.length;
    endResponse(ctx.res, this.headStatus, this.headFields, web ? {} : trailers, last);
    this.headStatus = 0;
    this.headFields = undefined;
    this.lastChunk = undefined;
  }

  onResponseError(_controller: Controller | undefined, err: Error): void {
    this.finish(err); // a no-op when expire() already answered; undici's later abort then returns below
    const { ctx, target } = this;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'TOLLGATE_CLIENT_CLOSED' || ctx.finished) return;
    ctx.forwarded = false; // a failed attempt: what it sent is no answered request, and a retry sends it again
    const notTargets = notTheTargets(code); // its app's or key's doing, or a head undici would not send
    if (notTargets !== undefined) return void ctx.reply(notTargets);
    const bodyError = bodyErrorReply(code);
    if (bodyError !== undefined) return void ctx.reply(bodyError, { connection: 'close' });
    const upstream = this.upstream;
    const replyCode = classifyUpstreamError(err);
    const noResponse = isNoResponse(err, this.responding);
    const body = this.hasBody ? resendBody(this.sentBody) : null;
    const untouched = body !== undefined;
    const retryable = mayRetry(err, noResponse, untouched, this.hasBody, ctx.req.method) && !ctx.res.headersSent;
    // A stale connection, a refused stream: not the target's failure, and not a retry of `retries`.
    const staleRetry = retryable && upstream.config.retries > 0 && this.resends < STALE_RESENDS;
    if (staleRetry && sendsAgainToTarget(err, this.responding, upstream.config.protocol)) {
      upstream.counters.staleRetries.inc();
      const again = new Exchange(ctx, this.route, upstream, target, this.tried);
      again.resends = this.resends + 1;
      again.sentBody = body ?? null;
      return void again.send();
    }
    if (recordFailure(upstream, target, ctx.requestId, err, replyCode, noResponse, this.recorded)) this.recorded = true;
    if (retryable && this.retry(body ?? null)) return;
    // With no retry (none left, refused by the budget, or no other target: a lone target that refused), the reply is
    // this attempt's own failure, e.g. 502 GW_ERR_UPSTREAM_REFUSED, not a 503 "no healthy target".
    const reset = (err as { http2ErrorCode?: number }).http2ErrorCode;
    if (ctx.grpc && reset !== undefined) ctx.replyGrpc(replyCode, undefined, GRPC_STATUS[grpcStatusOfReset(reset)]);
    else ctx.reply(replyCode);
  }

  /** After a connect failure, or a connection lost before any response: the request goes again (retryTarget). */
  private retry(body: Readable | InspectedBody | Buffer | null): boolean {
    const tried = this.tried ?? new Set<Target>();
    tried.add(this.target);
    const next = retryTarget(this.upstream, this.ctx, tried);
    if (next === undefined) return false;
    const again = new Exchange(this.ctx, this.route, this.upstream, next.target, tried);
    again.sentBody = body;
    if (next.lastResort) again.lastResortMs = Date.now();
    again.send();
    return true;
  }

  private finish(error?: Error): void {
    if (this.done) return;
    this.done = true;
    endAttempt(this.span, this.responding ? this.ctx.upstreamStatus : 0, error);
    if (this.sendTimer !== undefined) clearTimeout(this.sendTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.target.active--;
    if (this.ctx.recorded) this.ctx.upstreamMs = performance.now() - this.ctx.upstreamStartMs;
    this.ctx.exchange = undefined;
    this.upstream.totalTimeouts?.remove(this);
    this.phase.leave();
  }
}
