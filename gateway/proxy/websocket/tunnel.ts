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
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../context.ts';
import type { CompiledRoute } from '../snapshot.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';
import { GatewayError } from '../../errors.ts';
import { classifyUpstreamError, isNoResponse } from '../stages/proxy/classify.ts';
import { recordFailure, recordStatus } from '../stages/proxy/outcome.ts';
import { responseHeaders } from '../stages/proxy/response-headers.ts';
import { admit } from '../stages/proxy/retry.ts';
import { CLOSE, closeFrame, FrameTracker, PING_TO_CLIENT, pingToUpstream } from './frames.ts';
import type { CloseReason } from './metrics.ts';
import { stateOf, type Runtime } from '../runtime.ts';
import { connectionCounts } from './limits.ts';
import { interimEvents } from '../events/interim.ts';
import { interimRecord } from '../events/access-event.ts';

/** A tunnel's client side: its connection (HTTP/1.1) or its CONNECT stream (HTTP/2); both have what is used here. */
type ClientSide = Duplex & { setTimeout(ms: number, onTimeout: () => void): unknown };

/** How long a client has to close its side after the gateway ended the connection. */
const CLOSE_GRACE_MS = 5000;

export class WebSocketTunnel {
  readonly #ctx: RequestContext;
  readonly #route: CompiledRoute;
  readonly #upstream: UpstreamPool;
  readonly #target: Target;
  /** The target counts this connection as active (least_connections) until it ends. */
  #holding = true;
  #ended = false;
  /** Set once the tunnel is open: the client's socket (its HTTP/2 stream), and the frames going to it. */
  #client: ClientSide | undefined = undefined;
  #toClient: FrameTracker | undefined = undefined;
  /** The gateway sent the client a close frame of its own: what the upstream sends after it is dropped. */
  #closeSent = false;
  /** Graceful shutdown told this connection to close. */
  #draining = false;
  /** The end as the access event records it, once the tunnel is open. */
  #closed: { code: number; reason: CloseReason } | undefined = undefined;

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
    const url = new URL(target.origin);
    const https = url.protocol === 'https:';
    const headers: Record<string, string | string[]> = {
      ...ctx.upstreamHeaders,
      connection: 'Upgrade',
      upgrade: ctx.req.headers.upgrade ?? 'websocket',
    };
    if (!this.#route.config.preserve_host) headers.host = target.host;
    // Over HTTP/2 the client sends no key (RFC 8441 5); the upstream's HTTP/1.1 handshake needs one.
    if (ctx.protocol === 'h2') headers['sec-websocket-key'] = randomBytes(16).toString('base64');
    const timeouts = this.#upstream.config.timeouts;
    const options: RequestOptions & Record<string, unknown> = {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || (https ? 443 : 80),
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
    const request = http.request(options);
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
    this.#release();
    const status = res.statusCode ?? 502;
    ctx.upstreamStatus = status;
    recordStatus(this.#upstream, this.#target, status, 0);
    ctx.res.writeHead(
      status,
      responseHeaders(res.headers, this.#route.responseOps, ctx.requestId, ctx.responseHeaders, status),
    );
    res.on('data', (chunk: Buffer) => (ctx.bytesOut += chunk.length));
    res.pipe(ctx.res);
  }

  #failed(err: Error): void {
    const ctx = this.#ctx;
    this.#release();
    if ((err as NodeJS.ErrnoException).code === 'TOLLGATE_CLIENT_CLOSED' || ctx.finished) return;
    const code = classifyUpstreamError(err);
    recordFailure(this.#upstream, this.#target, ctx.requestId, err, code, isNoResponse(err, false), false);
    ctx.reply(code);
  }

  #open(res: IncomingMessage, upstream: Socket, head: Buffer): void {
    const ctx = this.#ctx;
    // Over HTTP/2 the client's side is the CONNECT stream, not the connection it shares with other streams.
    const h2 = ctx.protocol === 'h2';
    const client = (h2 ? (ctx.res as unknown as Http2ServerResponse).stream : ctx.req.socket) as ClientSide;
    if (client.destroyed) {
      // The client left while the upstream was answering.
      upstream.destroy();
      this.#release();
      return;
    }
    recordStatus(this.#upstream, this.#target, 101, 0);
    ctx.upstreamStatus = 101;
    // What the client got: 101, or over HTTP/2 a 200 that opens the tunnel (RFC 8441 5).
    ctx.recordStatus = h2 ? 200 : 101;
    const fromClient = new FrameTracker();
    const toClient = new FrameTracker();
    if (ctx.recorded) {
      ctx.upstreamMs = performance.now() - ctx.upstreamStartMs;
      ctx.messagesIn = fromClient;
      ctx.messagesOut = toClient;
    }
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

    this.#client = client;
    this.#toClient = toClient;
    const open = openTunnels(ctx.snapshot.runtime);
    open.add(this);
    const metrics = ctx.snapshot.metrics.websocket;
    const service = this.#route.service.name;
    metrics.open.inc({ service });
    // What the access event says of the end: the first close frame's code either way (1006 while none), and why.
    const closed = { code: 1006, reason: 'client' as CloseReason };
    this.#closed = closed;
    if (ctx.recorded) ctx.closed = closed;
    const interim = ctx.recorded
      ? interimEvents(ctx.snapshot.runtime, ctx.snapshot.config.events.interim_ms, (node) =>
          interimRecord(ctx, node, performance.now()),
        )
      : undefined;
    let reason: CloseReason = 'client';
    // The gateway ends the connection (idle, lifetime, the upstream gone): a close frame to the client when the
    // upstream sent none and one fits between frames, then both connections end.
    // Who sent the first close frame: a connection its close handshake ended, ended by that side.
    let closer: 'client' | 'upstream' | undefined;
    const end = (code: number, why: CloseReason) => {
      if (this.#ended) return;
      this.#ended = true;
      reason = why === 'upstream' ? (closer ?? why) : why;
      closed.reason = reason;
      this.#sendClose(code);
      client.end();
      upstream.destroy();
      // The client may be paused behind the upstream's backpressure, which will never drain now: read on to its end
      // (dropping what comes), and cut it should it never close its side.
      client.resume();
      setTimeout(() => client.destroy(), CLOSE_GRACE_MS).unref();
    };
    const ws = this.#route.service.config.websocket;
    if (ws.idle_timeout_ms > 0) {
      client.setTimeout(ws.idle_timeout_ms, () => end(CLOSE.goingAway, 'idle'));
      upstream.setTimeout(ws.idle_timeout_ms, () => end(CLOSE.goingAway, 'idle'));
    }
    const lifetime =
      ws.max_lifetime_ms > 0 ? setTimeout(() => end(CLOSE.goingAway, 'lifetime'), ws.max_lifetime_ms) : undefined;
    // Whether the client sent anything since the last ping, and for how many pings in a row it did not.
    let heardFromClient = true;
    let silentPings = 0;
    // Pings go only between frames, so neither side ever sees one inside another frame; the client's pong goes on
    // to the upstream and the upstream's to the client, where an unsolicited pong is allowed (RFC 6455 5.5.3).
    const ping = () => {
      silentPings = heardFromClient ? 0 : silentPings + 1;
      heardFromClient = false;
      if (silentPings >= 2) return end(CLOSE.goingAway, 'idle');
      if (toClient.atBoundary && !toClient.closed && !this.#closeSent && client.writable) client.write(PING_TO_CLIENT);
      if (fromClient.atBoundary && !fromClient.closed && upstream.writable) upstream.write(pingToUpstream());
    };
    const pinger = ws.ping_interval_ms > 0 ? setInterval(ping, ws.ping_interval_ms) : undefined;
    const traffic = metrics.traffic(service);
    const counted =
      (direction: 'in' | 'out', frames: FrameTracker, maxMessage: number) =>
      (chunk: Buffer): boolean => {
        const before = frames.count;
        frames.push(chunk);
        if (closed.code === 1006 && frames.closeCode !== 0) {
          closed.code = frames.closeCode;
          closer ??= direction === 'in' ? 'client' : 'upstream';
        }
        if (direction === 'in') {
          ctx.bytesIn += chunk.length;
          heardFromClient = true;
        } else ctx.bytesOut += chunk.length;
        traffic.bytes[direction] += chunk.length;
        traffic.messages[direction] += frames.count - before;
        if (maxMessage === 0 || frames.messageBytes <= maxMessage) return true;
        end(CLOSE.tooBig, 'message_too_big'); // the message is not passed on: the upstream connection goes
        return false;
      };
    const toUpstream = counted('in', fromClient, ws.max_message_bytes);
    const fromUpstream = counted('out', toClient, 0);
    pipe(client, upstream, toUpstream);
    if (head.length > 0) {
      fromUpstream(head);
      client.write(head);
    }
    // After a close frame of the gateway's own, what the upstream sends is not the client's to read.
    pipe(upstream, client, fromUpstream, () => this.#closeSent);
    upstream.once('end', () => end(CLOSE.goingAway, this.#draining ? 'shutdown' : 'upstream'));
    upstream.once('error', () => end(CLOSE.internalError, 'upstream_error'));
    upstream.once('close', () => end(CLOSE.internalError, 'upstream_error'));
    client.once('end', () => upstream.end());
    client.once('close', () => {
      open.delete(this);
      if (!this.#ended && this.#draining) reason = 'shutdown';
      this.#ended = true;
      closed.reason = reason;
      clearTimeout(lifetime);
      clearInterval(pinger);
      clearInterval(interim);
      upstream.destroy();
      this.#release();
      metrics.open.dec({ service });
      metrics.closed.inc({ service, reason });
    });
  }

  /**
   * Graceful shutdown: the client is told the gateway is going away (1001) where a close frame fits; its answering
   * close frame goes on to the upstream, whose own close then ends both connections within the drain time.
   */
  goingAway(): void {
    this.#draining = true;
    if (this.#closed) this.#closed.reason = 'shutdown';
    this.#sendClose(CLOSE.goingAway);
  }

  #sendClose(code: number): void {
    const client = this.#client;
    const toClient = this.#toClient;
    if (client === undefined || toClient === undefined || this.#closeSent || toClient.closed) return;
    if (!toClient.atBoundary || !client.writable) return;
    this.#closeSent = true;
    if (this.#closed?.code === 1006) this.#closed.code = code;
    client.write(closeFrame(code));
  }

  #release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.#target.active--;
    connectionCounts(this.#ctx.snapshot.runtime).give(this.#route.service.name, this.#ctx.appId);
    if (this.#ctx.recorded && this.#ctx.upstreamMs === 0)
      this.#ctx.upstreamMs = performance.now() - this.#ctx.upstreamStartMs;
    this.#ctx.exchange = undefined;
  }
}

/** The open tunnels of this process, told to close when it shuts down. */
function openTunnels(runtime: Runtime): Set<WebSocketTunnel> {
  return stateOf(runtime, 'websocket-tunnels', () => {
    const open = new Set<WebSocketTunnel>();
    runtime.drainers.push(() => {
      for (const tunnel of open) tunnel.goingAway();
    });
    return open;
  });
}

/**
 * from → to with backpressure, each chunk seen on the way first (counted, frames followed), and sent unless `seen`
 * says no; none sent once `dropped()`.
 */
function pipe(from: Duplex, to: Duplex, seen: (chunk: Buffer) => boolean, dropped = () => false): void {
  const resume = () => from.resume();
  from.on('data', (chunk: Buffer) => {
    if (to.destroyed || dropped() || !seen(chunk)) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', resume);
    }
  });
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
