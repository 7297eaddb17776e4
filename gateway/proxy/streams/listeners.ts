/**
 * The listening side of `streams`: one TCP server per stream (and a TLS
 * server beside it when the stream terminates TLS). Each accepted connection
 * runs on the stream as compiled in the snapshot serving at that moment. A
 * reload starts streams it adds, stops accepting on those it removes (their
 * open connections carry on), moves those given another address, and gives
 * TLS streams new certificates.
 */
import { createServer, type Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  listenAtStart,
  movesKeepingOld,
  type StartOptions,
  type Started,
  startListening,
  stopStarted,
  warnStartsAgain,
} from '../net/listen-retry.ts';
import type { Config } from '../../control/config/schema.ts';
import type { Logger } from '../../log.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { ListenerTls } from '../listeners/certificates.ts';
import { clientChecksOf } from '../listeners/checks-changed.ts';
import { listenerTlsHooks } from '../listeners/metrics.ts';
import { givenToAnother } from '../listeners/semantics.ts';
import { TlsListener } from '../listeners/tls.ts';
import { sharedTicketKeys } from '../listeners/door.ts';
import type { Snapshot } from '../snapshot.ts';
import { peerKey, StreamConnection, SWEEP_MS, type StreamHooks } from './connection.ts';
import type { StreamConfig } from './schema.ts';
import { streamSpan } from '../tracing/spans.ts';
import { cutStreamRecord, hasTail, streamRecord } from './event.ts';
import { LiveSet } from '../net/live-set.ts';

interface Running extends Started<Running> {
  config: StreamConfig;
  server: Server;
  tls: TlsListener | undefined;
  /** Connections handed to the TLS server, by the client's address and port, until their handshake ends. */
  handshaking: Map<string, StreamConnection>;
  /** The session ticket key its TLS seals tickets with (sharedTicketKeys). */
  ticketKeys: Buffer;
}

export class StreamListeners {
  readonly #running = new Map<string, Running>();
  readonly #current: () => Snapshot;
  readonly #metrics: GatewayMetrics;
  readonly #log: Logger;
  readonly #hooks: StreamHooks;
  readonly #starting: StartOptions<Running>;
  #sweeper: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Each listening stream's address by name (the data plane's, shared with the HTTP listeners). */
  readonly addresses: Map<string, { host: string; port: number }>;

  constructor(
    config: Config,
    current: () => Snapshot,
    metrics: GatewayMetrics,
    log: Logger,
    addresses: Map<string, { host: string; port: number }>,
  ) {
    this.addresses = addresses;
    this.#starting = {
      kind: 'stream',
      addresses,
      waiting: metrics.streams.waiting,
      log,
      retire: (before) => this.#retire(before),
    };
    this.#current = current;
    this.#metrics = metrics;
    this.#log = log;
    const live = new LiveSet<StreamConnection>();
    this.#hooks = {
      get runtime() {
        return current().runtime;
      },
      metrics: metrics.streams,
      live,
      terminate: (connection, socket) => {
        const running = this.#running.get(connection.stream.name);
        if (running?.tls === undefined) return connection.refuse('tls_handshake');
        running.handshaking.set(peerKey(socket), connection);
        running.tls.server.emit('connection', socket);
      },
      ended: (connection) => {
        if (connection.stream.config.tls)
          this.#running.get(connection.stream.name)?.handshaking.delete(connection.peer);
        const { events, tracing } = current().runtime;
        const traceId = streamSpan(tracing, connection);
        if (events === undefined) return;
        if (hasTail(connection)) events.append((node) => streamRecord(connection, node, connection.endMs));
        events.final(connection, (node) => streamRecord(connection, node, undefined, traceId));
      },
    };
    metrics.streams.setLive(function* () {
      for (const c of live) yield { stream: c.stream.name, in: c.bytesIn, out: c.bytesOut };
    });
    for (const stream of config.streams) this.#running.set(stream.name, this.#build(stream));
  }

  /**
   * Idle and lifetime limits and interim events, looked after from the first connection on: a gateway with no
   * streams, or whose streams have taken no connection, does not wake for them.
   */
  #sweepFromNowOn(): void {
    if (this.#sweeper !== undefined) return;
    const live = this.#hooks.live;
    const current = this.#current;
    this.#sweeper = setInterval(() => {
      if (live.size === 0) return;
      const now = performance.now();
      const snapshot = current();
      const events = snapshot.runtime.events;
      const report =
        events &&
        ((c: StreamConnection, interim: boolean) => {
          const cut = (node: string) => cutStreamRecord(c, node, now);
          if (interim) events.interim(c, (node) => streamRecord(c, node, now), cut);
          else events.keep(c, cut);
        });
      for (const c of live) c.sweep(now, snapshot.config.events.interim_ms, report);
    }, SWEEP_MS);
    this.#sweeper.unref();
  }

  #build(config: StreamConfig): Running {
    const name = config.name;
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      const stream = this.#current().streams.get(name);
      if (stream === undefined) return void socket.destroy();
      // TCP half-close is passed on, except under TLS the stream terminates: a client's FIN during the handshake
      // must end it then, not at handshake_timeout_ms.
      if (stream.config.tls !== undefined) socket.allowHalfOpen = false;
      const keepaliveMs = stream.config.timeouts.keepalive_ms;
      if (keepaliveMs > 0) socket.setKeepAlive(true, keepaliveMs);
      this.#sweepFromNowOn();
      new StreamConnection(socket, stream, this.#hooks);
    });
    const r: Running = { config, server, tls: undefined, handshaking: new Map(), ticketKeys: Buffer.alloc(0) };
    // In cluster mode every worker's TLS for this stream seals tickets with one key, as a listener's does.
    r.ticketKeys = sharedTicketKeys(server, (keys) => {
      r.ticketKeys = keys;
      r.tls?.shareTicketKeys(keys);
    });
    if (config.tls) this.#terminateTls(r, config);
    return r;
  }

  /** The stream's TLS server, for connections its listening server hands over (the `terminate` hook). */
  #terminateTls(r: Running, config: StreamConfig): void {
    const name = config.name;
    const handshaking = r.handshaking;
    const listenerMetrics = this.#metrics.listeners;
    const taken = (socket: TLSSocket | undefined) => {
      if (socket === undefined) return undefined;
      const key = peerKey(socket);
      const connection = handshaking.get(key);
      handshaking.delete(key);
      return connection;
    };
    r.tls = new TlsListener(config.tls as ListenerTls, 'tcp', {
      secured: (socket) => {
        const connection = taken(socket);
        if (connection === undefined) socket.destroy();
        else connection.secured(socket);
      },
      refused: (reason, socket) => {
        listenerMetrics.refused.inc({ listener: name, reason });
        taken(socket)?.refuse('tls_handshake');
      },
      ...listenerTlsHooks(listenerMetrics, this.#log, name),
    });
    r.tls.shareTicketKeys(r.ticketKeys);
  }

  /** Starts every stream's listener; resolves once all listen. */
  async listen(): Promise<void> {
    for (const r of this.#running.values()) await listenAtStart(r, r.server, this.#starting);
  }

  /**
   * A new config applied: streams added start, removed ones stop accepting (their open connections carry on), TLS
   * ones take new certificates. One given another address accepts at the old one until it listens at the new one,
   * so an address another process holds costs nothing. One given or relieved of TLS keeps its listening socket,
   * so no connection is refused meanwhile: new connections are terminated, or not, from then on; open ones,
   * handshakes under way too, carry on as they began.
   */
  update(config: Config): Promise<void> {
    const tries: Promise<void>[] = [];
    const next = new Map(config.streams.map((s) => [s.name, s]));
    for (const [name, r] of [...this.#running]) {
      const s = next.get(name);
      const givenAway = (listen: string) => givenToAnother(config, 'stream', name, listen);
      const moved = movesKeepingOld(r, s?.listen, givenAway, this.#starting);
      const relisten = s !== undefined && s.listen !== r.config.listen;
      if (s === undefined || relisten) {
        this.#running.delete(name);
        if (moved && s) {
          next.delete(name);
          tries.push(this.#add(s, r));
        } else this.#retire(r); // starts again below, as a new one
        if (s === undefined) this.#log.info({ stream: name }, 'stream removed: no new connections; open ones carry on');
        else
          this.#log.info(
            { stream: name, from: r.config.listen, to: s.listen },
            moved ? 'stream moved: its old address accepts until the new one listens' : 'stream replaced',
          );
        continue;
      }
      next.delete(name);
      if (r.tls && s.tls) {
        if (s.tls.handshake_timeout_ms !== r.config.tls?.handshake_timeout_ms)
          warnStartsAgain(this.#log, 'stream', name, ['tls.handshake_timeout_ms']);
        r.tls.update(s.tls as ListenerTls);
        if (clientChecksOf(s.tls) !== clientChecksOf(r.config.tls)) this.#reconnect(name);
      } else if (s.tls) {
        this.#terminateTls(r, s);
        this.#log.info({ stream: name }, 'stream terminates TLS from now on');
      } else if (r.tls) {
        r.tls.close();
        r.tls = undefined;
        this.#log.info({ stream: name }, 'stream no longer terminates TLS; handshakes under way finish');
      }
      r.config = s;
    }
    for (const s of next.values()) tries.push(this.#add(s));
    return Promise.all(tries).then(() => undefined);
  }

  /**
   * Starts a stream a reload added, changed or moved (from `predecessor`, which it retires once it listens); an
   * address another process holds is tried again (listenUntilFree).
   */
  #add(config: StreamConfig, predecessor?: Running): Promise<void> {
    if (this.#stopped) {
      // Shutting down: nothing new listens.
      if (predecessor) this.#retire(predecessor);
      return Promise.resolve();
    }
    const r = this.#build(config);
    r.predecessor = predecessor;
    this.#running.set(config.name, r);
    return startListening(r, r.server, this.#starting);
  }

  /** Stops accepting (open connections carry on), and on the server it was moved from if that still accepts. */
  #retire(r: Running): void {
    stopStarted(r, this.#starting, this.#running.has(r.config.name));
    r.server.close();
    r.tls?.close();
  }

  /**
   * The stream's client-certificate checks changed (a CA, a CRL: a revoked certificate). A TCP connection has no
   * request to end after, so those it let in under the old checks are closed now (`client_certificate`) and the
   * client comes back through a full handshake under the new ones, as Envoy drains a listener whose filter chain
   * changed. Any new CA or CRL file does it, one revoking nobody too: the gateway cannot tell from outside a
   * handshake whose certificate the change concerns.
   */
  #reconnect(name: string): void {
    let closed = 0;
    for (const c of this.#hooks.live) {
      if (c.stream.name !== name) continue;
      if (c.proxied) c.close('client_certificate');
      else c.refuse('client_certificate');
      closed++;
    }
    this.#log.info({ stream: name, closed }, 'client certificate checks changed: open connections reconnect');
  }

  /** Resolves once no connection is open, or at `deadline` (epoch ms): a TCP connection has no end the gateway
   * can ask for, so it gets what is left of the drain time. */
  async drained(deadline: number): Promise<void> {
    while (this.#hooks.live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** Stops accepting; open connections carry on (the drain). */
  stopAccepting(): Promise<void> {
    this.#stopped = true;
    const accepting = [...this.#running.values()].flatMap((r) => (r.predecessor ? [r, r.predecessor] : [r]));
    for (const r of accepting) {
      r.stopListening?.();
      r.tls?.close();
    }
    const closing = accepting.map((r) => new Promise<void>((resolve) => r.server.close(() => resolve())));
    return Promise.all(closing).then(() => undefined);
  }

  /** Cuts what the drain left open; resolves once each has ended (and handed over its access event). */
  closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const c of this.#hooks.live) c.close('shutdown');
    return this.drained(Date.now() + 1000);
  }
}
