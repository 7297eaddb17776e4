/**
 * A WebSocket connection through the gateway: the handshake went through every
 * stage like any request (routing, credentials, limits, canary); here it goes
 * to a target on a connection of its own, and once the target answers 101 the
 * two sockets are piped both ways with backpressure, frames followed by their
 * headers only (frames.ts). The connection is one request: its access event is
 * recorded when it closes, with status 101, its duration and bytes each way.
 */
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Http2ServerResponse } from 'node:http2';
import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../context.ts';
import type { CompiledRoute } from '../snapshot.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';
import { GatewayError } from '../../errors.ts';
import { classifyUpstreamError, isNoResponse } from '../stages/proxy/classify.ts';
import { notTheTargets, recordFailure, recordStatus } from '../stages/proxy/outcome.ts';
import { responseHeaders } from '../stages/proxy/response-headers.ts';
import { admit } from '../stages/proxy/retry.ts';
import { connectionCounts } from './limits.ts';
import { switchedToWebSocket } from './handshake.ts';
import { endAttempt, startAttempt } from '../tracing/spans.ts';
import { type ClientSide, OpenTunnel } from './open-tunnel.ts';

export class WebSocketTunnel {
  readonly #ctx: RequestContext;
  readonly #route: CompiledRoute;
  readonly #upstream: UpstreamPool;
  readonly #target: Target;
  /** The target counts this connection as active (least_connections) until it ends. */
  #holding = true;
  /** The handshake's CLIENT span while tracing is on. */
  #span: ReturnType<typeof startAttempt> = undefined;
  /** The Sec-WebSocket-Key the upstream was sent, which its 101 must answer. */
  #key = '';

  static start(ctx: RequestContext, route: CompiledRoute): void {
    const counts = connectionCounts(ctx.snapshot.runtime);
    const full = counts.take(route.service.name, ctx.appId, route.service.config.websocket);
    if (full === 'service') return void ctx.reply('GW_ERR_WEBSOCKET_LIMIT');
    if (full === 'app') return void ctx.reply('GW_ERR_WEBSOCKET_APP_LIMIT');
    const upstream = ctx.upstream ?? route.service.upstream;
    const target = admit(ctx, upstream);
    if (target !== undefined) new WebSocketTunnel(ctx, route, upstream, target).#connect();
    else counts.give(route.service.name, ctx.appId);
  }

  private constructor(ctx: RequestContext, route: CompiledRoute, upstream: UpstreamPool, target: Target) {
    this.#ctx = ctx;
    this.#route = route;
    this.#upstream = upstream;
    this.#target = target;
    target.active++;
  }

  #connect(): void {
    const ctx = this.#ctx;
    const target = this.#target;
    const https = target.origin.startsWith('https:');
    // The handshake to the target is this connection's one upstream attempt.
    this.#span = startAttempt(ctx, target, 0);
    // Only WebSocket is asked for, whatever else the client's Upgrade listed: an upstream that chose h2c from
    // `Upgrade: h2c, websocket` would get a raw tunnel past routing.
    const headers: Record<string, string | string[]> = {
      ...ctx.upstreamHeaders,
      connection: 'Upgrade',
      upgrade: 'websocket',
    };
    if (!this.#route.config.preserve_host) headers.host = target.host;
    // Over HTTP/2 the client sends no key (RFC 8441 5); the upstream's HTTP/1.1 handshake needs one.
    if (ctx.protocol === 'h2') headers['sec-websocket-key'] = randomBytes(16).toString('base64');
    this.#key = headers['sec-websocket-key'] as string;
    const timeouts = this.#upstream.config.timeouts;
    const options: RequestOptions & Record<string, unknown> = {
      host: target.address, // parsed once, when the target was made
      port: target.port,
      method: 'GET',
      path: ctx.upstreamPath,
      headers,
      agent: false, // a connection of its own: it is the tunnel's for as long as it lasts
      servername: target.servername,
      ...this.#upstream.tls,
    };
    const http = process.getBuiltinModule(https ? 'node:https' : 'node:http') as typeof import('node:http');
    ctx.target = target;
    ctx.upstreamStartMs = performance.now();
    let request: ReturnType<typeof http.request>;
    try {
      request = http.request(options);
    } catch (err) {
      // A head Node will not send (a header value with CR, LF or a character above U+00FF): refused before anything
      // went out. The connection's slots are given back here, and the target is not blamed (#failed).
      return void this.#failed(err as Error);
    }
    ctx.exchange = { abort: (reason) => request.destroy(reason) };
    // Until the answer's head: connect_ms and header_ms together, as for any request.
    request.setTimeout(timeouts.connect_ms + timeouts.header_ms, () =>
      request.destroy(new GatewayError('TOLLGATE_HEADERS_TIMEOUT', 'upstream header timeout')),
    );
    request.once('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => this.#open(res, socket, head));
    request.once('response', (res: IncomingMessage) => this.#refused(res));
    request.once('error', (err) => this.#failed(err));
    request.end();
  }

  /** The upstream answered without switching protocols: the client gets that answer, then the connection ends. */
  #refused(res: IncomingMessage): void {
    const ctx = this.#ctx;
    const status = res.statusCode ?? 502;
    // Past 599 a status is invalid (RFC 9110 15), and HTTP/2 cannot carry one: Node threw from this event, and the
    // process went down.
    if (status > 599) {
      res.destroy();
      return void this.#failed(
        Object.assign(new Error(`invalid status ${status}`), { code: 'TOLLGATE_INVALID_STATUS' }),
      );
    }
    // Over HTTP/2 any 2xx to a CONNECT opens the tunnel (RFC 8441 5, RFC 9113 8.5): a 2xx that is no 101 (a target
    // that ignored the upgrade, an event stream on the same path) told the client its WebSocket was open, and its body
    // came as frames, or nothing ever came (204).
    if (ctx.protocol === 'h2' && status >= 200 && status < 300) {
      res.destroy();
      return void this.#failed(new GatewayError('TOLLGATE_NOT_WEBSOCKET', `the upstream answered ${status}, not 101`));
    }
    this.release();
    endAttempt(this.#span, status);
    ctx.upstreamStatus = status;
    recordStatus(this.#upstream, this.#target, status, 0);
    ctx.res.writeHead(
      status,
      responseHeaders(res.headers, this.#route.responseOps, ctx.requestId, ctx.responseHeaders, status),
    );
    res.on('data', (chunk: Buffer) => (ctx.bytesOut += chunk.length));
    // The answer is the client's for as long as both are there. The client leaving ends the upstream's (an endless
    // one, such as an event stream answering a handshake, held both connections for good), and the upstream's
    // breaking off cuts the client's, as for any response (a client waiting on a truncated body held its own).
    ctx.exchange = { abort: () => res.destroy() };
    res.on('error', () => undefined); // its close says it
    res.on('close', () => {
      if (res.complete || ctx.finished) return;
      const err = Object.assign(new Error('the upstream closed in the middle of its answer'), { code: 'ECONNRESET' });
      recordFailure(this.#upstream, this.#target, ctx.requestId, err, 'GW_ERR_BAD_GATEWAY', false, true);
      ctx.reply('GW_ERR_BAD_GATEWAY'); // the head went out: the client's connection is cut, and counted
    });
    res.pipe(ctx.res);
  }

  #failed(err: Error): void {
    const ctx = this.#ctx;
    this.release();
    endAttempt(this.#span, 0, err);
    const errCode = (err as NodeJS.ErrnoException).code;
    if (errCode === 'TOLLGATE_CLIENT_CLOSED' || ctx.finished) return;
    const notTargets = notTheTargets(errCode); // its app's or key's doing, or a head Node would not send
    if (notTargets !== undefined) return void ctx.reply(notTargets);
    const code = classifyUpstreamError(err);
    recordFailure(this.#upstream, this.#target, ctx.requestId, err, code, isNoResponse(err, false), false);
    ctx.reply(code);
  }

  #open(res: IncomingMessage, upstream: Socket, head: Buffer): void {
    const ctx = this.#ctx;
    if (!switchedToWebSocket(res, this.#key)) {
      upstream.destroy();
      const err = new GatewayError('TOLLGATE_NOT_WEBSOCKET', 'the upstream switched protocols, but not to WebSocket');
      return void this.#failed(err);
    }
    endAttempt(this.#span, 101);
    // Over HTTP/2 the client's side is the CONNECT stream, not the connection it shares with other streams.
    const h2 = ctx.protocol === 'h2';
    const client = (h2 ? (ctx.res as unknown as Http2ServerResponse).stream : ctx.req.socket) as ClientSide;
    if (client.destroyed) {
      // The client left while the upstream was answering.
      upstream.destroy();
      this.release();
      return;
    }
    recordStatus(this.#upstream, this.#target, 101, 0);
    ctx.upstreamStatus = 101;
    // What the client got: 101, or over HTTP/2 a 200 that opens the tunnel (RFC 8441 5).
    ctx.recordStatus = h2 ? 200 : 101;
    if (ctx.recorded) ctx.upstreamMs = performance.now() - ctx.upstreamStartMs;
    ctx.exchange = { abort: () => upstream.destroy() };
    const fields = responseHeaders(res.headers, this.#route.responseOps, ctx.requestId, ctx.responseHeaders, 101);
    if (h2) {
      // The accept answers the gateway's own key, not anything the client sent.
      delete fields['sec-websocket-accept'];
      ctx.res.writeHead(200, fields);
    } else {
      // Hop-by-hop everywhere else, these two are what a 101 is about (RFC 9110 7.8).
      fields.connection = 'Upgrade';
      fields.upgrade = res.headers.upgrade ?? 'websocket';
      client.write(headBlock(fields));
      (client as Socket).setNoDelay(true);
    }
    upstream.setTimeout(0);
    upstream.setNoDelay(true);
    new OpenTunnel(ctx, this.#route, client, upstream, head, () => this.release());
  }

  /** The target and the connection limits let go of this connection (once). */
  release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.#target.active--;
    connectionCounts(this.#ctx.snapshot.runtime).give(this.#route.service.name, this.#ctx.appId);
    if (this.#ctx.recorded && this.#ctx.upstreamMs === 0)
      this.#ctx.upstreamMs = performance.now() - this.#ctx.upstreamStartMs;
    this.#ctx.exchange = undefined;
  }
}

/** A 101's status line and header block. */
function headBlock(fields: Record<string, string | string[]>): string {
  let out = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const name in fields) {
    const value = fields[name];
    for (const v of Array.isArray(value) ? value : [value]) out += `${name}: ${v}\r\n`;
  }
  return `${out}\r\n`;
}
