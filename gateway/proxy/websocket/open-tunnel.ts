/**
 * A WebSocket connection once the upstream answered 101 (tunnel.ts made it): the two sockets piped both ways with
 * backpressure, frames followed by their headers only (frames.ts), the gateway's own closes (idle, lifetime, pings
 * unanswered, a message too big, shutdown) and the interim events of a connection that stays open. Its state is
 * fields of one object and its listeners are made once: an idle connection costs little beyond its two sockets.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RequestContext } from '../context.ts';
import type { CompiledRoute } from '../snapshot.ts';
import { CLOSE, closeFrame, FrameTracker, PING_TO_CLIENT, pingToUpstream } from './frames.ts';
import type { CloseReason, WebSocketTraffic } from './metrics.ts';
import { stateOf, type Runtime } from '../runtime.ts';
import { interimIfDue } from '../events/access-event.ts';
import { cutIfStillOpen } from '../net/close-grace.ts';
import { LiveSet } from '../net/live-set.ts';
import { writeThenFree } from '../net/write-then-free.ts';
import { checksChanged } from '../listeners/checks-changed.ts';

/** The close reason of a connection whose app, rights or credential no longer let it through. */
const WITHDRAWN_REASONS = {
  app: 'app_disabled',
  forbidden: 'forbidden',
  credential: 'credential_withdrawn',
  expired: 'token_expired',
} as const;

/** A tunnel's client side: its connection (HTTP/1.1) or its CONNECT stream (HTTP/2); both have what is used here. */
export type ClientSide = Duplex & { setTimeout(ms: number, onTimeout: () => void): unknown };

/** The tunnel a socket or stream belongs to, for the listeners every tunnel shares (OpenTunnel.#on). */
const TUNNEL = Symbol('websocket tunnel');
type Side = Duplex & { [TUNNEL]?: OpenTunnel };

export class OpenTunnel {
  readonly #ctx: RequestContext;
  readonly #route: CompiledRoute;
  readonly #client: ClientSide;
  readonly #upstreamSocket: Socket;
  /** A socket's chunks are the tunnel's to free once written; an HTTP/2 stream's may be views of its session's. */
  readonly #freeClientChunks: boolean;
  readonly #fromClient = new FrameTracker();
  readonly #toClient = new FrameTracker();
  /** The target and the limits let go of the connection. */
  readonly #release: () => void;
  readonly #traffic: WebSocketTraffic;
  /** The end as the access event records it: the first close frame's code either way (1006 while none), and why. */
  readonly #closed = { code: 1006, reason: 'client' as CloseReason };
  #ended = false;
  /** The gateway sent the client a close frame of its own: what the upstream sends after it is dropped. */
  #closeSent = false;
  /** Graceful shutdown told this connection to close. */
  #draining = false;
  #pinger: NodeJS.Timeout | undefined = undefined;
  /** Who sent the first close frame. */
  #closer: 'client' | 'upstream' | undefined = undefined;
  /** Whether the client sent anything since the last ping, and for how many pings in a row it did not. */
  #heardFromClient = true;
  #silentPings = 0;
  /** The sweep's clocks (performance.now()): opened, bytes moved as of the last sweep and since when none have. */
  readonly #openedMs = performance.now();
  #seenBytes = 0;
  #quietSinceMs = this.#openedMs;

  constructor(
    ctx: RequestContext,
    route: CompiledRoute,
    client: ClientSide,
    upstream: Socket,
    head: Buffer,
    release: () => void,
  ) {
    this.#ctx = ctx;
    this.#route = route;
    this.#client = client;
    this.#upstreamSocket = upstream;
    this.#freeClientChunks = client instanceof Socket;
    this.#release = release;
    if (ctx.recorded) {
      ctx.messagesIn = this.#fromClient;
      ctx.messagesOut = this.#toClient;
      ctx.closed = this.#closed;
    }
    const metrics = ctx.snapshot.metrics.websocket;
    this.#traffic = metrics.traffic(route.service.name);
    metrics.open.inc({ service: route.service.name });
    openTunnels(ctx.snapshot.runtime).add(this);
    const ws = route.service.config.websocket;
    if (ws.ping_interval_ms > 0) this.#pinger = setInterval(OpenTunnel.#on.ping, ws.ping_interval_ms, this);
    (client as Side)[TUNNEL] = this;
    (upstream as Side)[TUNNEL] = this;
    const on = OpenTunnel.#on;
    client.on('data', on.clientData);
    if (head.length > 0 && this.#seen(this.#toClient, head)) client.write(head);
    upstream.on('data', on.upstreamData);
    // Each of these comes once: plain listeners, no once() wrapper per connection.
    upstream.on('end', on.upstreamEnded);
    upstream.on('error', on.upstreamBroke);
    upstream.on('close', on.upstreamBroke);
    client.on('end', on.clientEnded);
    client.on('close', on.clientClosed);
  }

  /**
   * The listeners, shared by every tunnel: Node calls them with the socket (or stream) as `this`, which names its
   * tunnel, as its own http server does with its sockets. A closure per listener per tunnel (ten) took an idle
   * connection's settled RSS from 8.0 to 8.7 KB (`BENCH_PIN=1 npm run bench -- --websocket`, 9,000 connections).
   */
  static readonly #on = {
    clientData(this: Side, chunk: Buffer): void {
      this[TUNNEL]!.#fromClientData(chunk);
    },
    upstreamData(this: Side, chunk: Buffer): void {
      this[TUNNEL]!.#fromUpstreamData(chunk);
    },
    /** `this`: the upstream socket, which drained. */
    resumeClient(this: Side): void {
      this[TUNNEL]!.#client.resume();
    },
    /** `this`: the client's side, which drained. */
    resumeUpstream(this: Side): void {
      this[TUNNEL]!.#upstreamSocket.resume();
    },
    upstreamEnded(this: Side): void {
      const tunnel = this[TUNNEL]!;
      tunnel.#end(CLOSE.goingAway, tunnel.#draining ? 'shutdown' : 'upstream');
    },
    upstreamBroke(this: Side): void {
      this[TUNNEL]!.#end(CLOSE.internalError, 'upstream_error');
    },
    clientEnded(this: Side): void {
      this[TUNNEL]!.#clientEnded();
    },
    clientClosed(this: Side): void {
      this[TUNNEL]!.#clientClosed();
    },
    ping(tunnel: OpenTunnel): void {
      tunnel.#ping();
    },
  };

  #fromClientData(chunk: Buffer): void {
    const upstream = this.#upstreamSocket;
    if (upstream.destroyed || !this.#seen(this.#fromClient, chunk)) return;
    if (!(this.#freeClientChunks ? writeThenFree(upstream, chunk) : upstream.write(chunk))) {
      this.#client.pause();
      upstream.once('drain', OpenTunnel.#on.resumeClient);
    }
  }

  // After a close frame of the gateway's own, what the upstream sends is not the client's to read.
  #fromUpstreamData(chunk: Buffer): void {
    const client = this.#client;
    if (client.destroyed || this.#closeSent || !this.#seen(this.#toClient, chunk)) return;
    if (!writeThenFree(client, chunk)) {
      this.#upstreamSocket.pause();
      client.once('drain', OpenTunnel.#on.resumeUpstream);
    }
  }

  // A WebSocket has no half-close: a client that ended its side has gone once the upstream had the grace to answer
  // (its close frame). An upstream that never ends its side held both connections until idle_timeout_ms.
  #clientEnded(): void {
    this.#upstreamSocket.end();
    cutIfStillOpen(this.#client);
  }

  #clientClosed(): void {
    const closed = this.#closed;
    openTunnels(this.#ctx.snapshot.runtime).delete(this);
    if (!this.#ended && this.#draining) closed.reason = 'shutdown';
    this.#ended = true;
    clearInterval(this.#pinger);
    this.#upstreamSocket.destroy();
    this.#release();
    const metrics = this.#ctx.snapshot.metrics.websocket;
    const service = this.#route.service.name;
    metrics.open.dec({ service });
    metrics.closed.inc({ service, reason: closed.reason });
  }

  /**
   * A chunk on its way through: counted, its frames followed; false when it must not be passed on (a client's
   * message over max_message_bytes, which ends the connection).
   */
  #seen(frames: FrameTracker, chunk: Buffer): boolean {
    const ctx = this.#ctx;
    const closed = this.#closed;
    const before = frames.count;
    frames.push(chunk);
    const inbound = frames === this.#fromClient;
    if (closed.code === 1006 && frames.closeCode !== 0) {
      closed.code = frames.closeCode;
      this.#closer ??= inbound ? 'client' : 'upstream';
    }
    const traffic = this.#traffic;
    if (inbound) {
      ctx.bytesIn += chunk.length;
      traffic.bytes.in += chunk.length;
      traffic.messages.in += frames.count - before;
      this.#heardFromClient = true;
      const maxMessage = this.#route.service.config.websocket.max_message_bytes;
      if (maxMessage === 0 || frames.messageBytes <= maxMessage) return true;
      this.#end(CLOSE.tooBig, 'message_too_big'); // the message is not passed on: the upstream connection goes
      return false;
    }
    ctx.bytesOut += chunk.length;
    traffic.bytes.out += chunk.length;
    traffic.messages.out += frames.count - before;
    return true;
  }

  /**
   * The gateway ends the connection (idle, lifetime, the upstream gone): a close frame to the client when the
   * upstream sent none and one fits between frames, then both connections end. A connection its close handshake
   * ended was ended by the side that sent the first close frame.
   */
  #end(code: number, why: CloseReason): void {
    if (this.#ended) return;
    this.#ended = true;
    const client = this.#client;
    this.#closed.reason = why === 'upstream' ? (this.#closer ?? why) : why;
    this.#sendClose(code);
    client.end();
    this.#upstreamSocket.destroy();
    // The client may be paused behind the upstream's backpressure, which will never drain now: read on to its end
    // (dropping what comes), and cut it should it never close its side.
    client.resume();
    cutIfStillOpen(client);
  }

  // Pings go only between frames, so neither side ever sees one inside another frame; the client's pong goes on to
  // the upstream and the upstream's to the client, where an unsolicited pong is allowed (RFC 6455 5.5.3). A client
  // silent for two pings in a row is taken for gone.
  #ping(): void {
    this.#silentPings = this.#heardFromClient ? 0 : this.#silentPings + 1;
    this.#heardFromClient = false;
    if (this.#silentPings >= 2) return void this.#end(CLOSE.goingAway, 'idle');
    const client = this.#client;
    const upstream = this.#upstreamSocket;
    const toClient = this.#toClient;
    const fromClient = this.#fromClient;
    if (toClient.atBoundary && !toClient.closed && !this.#closeSent && client.writable) client.write(PING_TO_CLIENT);
    if (fromClient.atBoundary && !fromClient.closed && upstream.writable) upstream.write(pingToUpstream());
  }

  /**
   * The sweep's look at an open tunnel (every SWEEP_MS, one timer for all of them): closed when nothing moved
   * either way for idle_timeout_ms or past max_lifetime_ms, or once its app is disabled or deleted, its app's rights
   * no longer cover it or the secret its API key matched is rotated out (RequestContext.withdrawn); an interim event
   * once events.interim_ms has passed since its last one. Each tunnel keeps the config it started with.
   */
  sweep(nowMs: number, epochMs: number, appsChanged: boolean): void {
    if (this.#ended) return;
    const ctx = this.#ctx;
    const withdrawn = ctx.withdrawn(appsChanged, epochMs);
    if (withdrawn !== undefined) return void this.#end(CLOSE.policyViolation, WITHDRAWN_REASONS[withdrawn]);
    if (checksChanged(this.#client)) return void this.#end(CLOSE.policyViolation, 'client_certificate');
    const ws = this.#route.service.config.websocket;
    const moved = ctx.bytesIn + ctx.bytesOut;
    if (moved !== this.#seenBytes) {
      this.#seenBytes = moved;
      this.#quietSinceMs = nowMs;
    } else if (ws.idle_timeout_ms > 0 && nowMs - this.#quietSinceMs >= ws.idle_timeout_ms)
      return void this.#end(CLOSE.goingAway, 'idle');
    if (ws.max_lifetime_ms > 0 && nowMs - this.#openedMs >= ws.max_lifetime_ms)
      return void this.#end(CLOSE.goingAway, 'lifetime');
    const events = ctx.snapshot.runtime.events;
    if (!ctx.recorded || events === undefined) return;
    interimIfDue(ctx, events, nowMs, this.#openedMs);
  }

  /**
   * Graceful shutdown: the client is told the gateway is going away (1001) where a close frame fits; its answering
   * close frame goes on to the upstream, whose own close then ends both connections within the drain time.
   */
  goingAway(): void {
    this.#draining = true;
    this.#closed.reason = 'shutdown';
    this.#sendClose(CLOSE.goingAway);
  }

  #sendClose(code: number): void {
    const client = this.#client;
    const toClient = this.#toClient;
    if (this.#closeSent || toClient.closed) return;
    if (!toClient.atBoundary || !client.writable) return;
    this.#closeSent = true;
    if (this.#closed.code === 1006) this.#closed.code = code;
    client.write(closeFrame(code));
  }
}

/**
 * How often open tunnels are looked after (WebSocketTunnel.sweep): idle_timeout_ms and max_lifetime_ms are kept to
 * within this, and interim events come this late at most. One timer for every tunnel instead of three per tunnel.
 */
const SWEEP_MS = 250;

/** The open tunnels of this process: swept, and told to close when it shuts down. */
function openTunnels(runtime: Runtime): LiveSet<OpenTunnel> {
  return stateOf(runtime, 'websocket-tunnels', () => {
    const open = new LiveSet<OpenTunnel>();
    let identityVersion = runtime.identity.version;
    const sweeper = setInterval(() => {
      const now = performance.now();
      const appsChanged = runtime.identity.version !== identityVersion;
      identityVersion = runtime.identity.version;
      const epochMs = Date.now();
      for (const tunnel of open) tunnel.sweep(now, epochMs, appsChanged);
    }, SWEEP_MS);
    sweeper.unref();
    runtime.closers.push(() => clearInterval(sweeper));
    runtime.drainers.push(() => {
      for (const tunnel of open) tunnel.goingAway();
    });
    return open;
  });
}
