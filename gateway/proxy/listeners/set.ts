import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import { listenAt } from '../../../shared/listen.ts';
import { type CidrMatcher, trustedProxies } from '../net/cidr.ts';
import { LiveSet } from '../net/live-set.ts';
import type { Config } from '../../control/config/schema.ts';
import { sameData } from '../../control/config/same-data.ts';
import type { ErrorCode } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { ListenerTls } from './certificates.ts';
import { createHttp1Server, droppedConnections } from './http1.ts';
import { createHttp2Server } from './http2.ts';
import { listenerTlsHooks, type Refusal } from './metrics.ts';
import { PROXY_LISTENER } from './names.ts';
import { HTTP2_DEFAULTS, type ListenerConfig } from './schema.ts';
import { protocolsOf } from './semantics.ts';
import { clientChecksOf, markChecksChanged, reconnectHttp1 } from './checks-changed.ts';
import { connectionAdmission, limitsConnections } from './limits.ts';
import { carryClientAddress, createProxyProtocolFront } from './proxy-protocol.ts';
import { createSniffingServer } from './sniff.ts';
import { TlsListener } from './tls.ts';

export { PROXY_LISTENER };

export type ProxyRequest = IncomingMessage | Http2ServerRequest;
export type ProxyResponse = ServerResponse | Http2ServerResponse;

export interface ProxyListenerHooks {
  /** Every request of every listener, with its listener's config as last updated. */
  handle(req: ProxyRequest, res: ProxyResponse, listener: ListenerConfig, expectsContinue?: boolean): void;
  /** A request answered off the request path (a parser error, CONNECT), with its code. */
  rejected(code: ErrorCode, socket: Socket, listener: string): void;
}

/** The response classes of the data plane, HTTP/2's made on first use (it loads node:http2). */
export interface ResponseClasses {
  http1: typeof ServerResponse;
  http2: () => typeof Http2ServerResponse;
}

interface Running {
  config: ListenerConfig;
  /** What listens: the TLS server, the sniffer, or the HTTP/1.1 or HTTP/2 server itself. */
  outer: Server;
  http1?: HttpServer;
  http2?: Http2Server;
  tls?: TlsListener;
  sessions: LiveSet<Http2Session>;
  /** The connections HTTP/2 runs on: a session destroyed while its client keeps the connection open only half-closes
   * it and waits, so closeAll cuts these too. */
  h2Sockets: LiveSet<Socket>;
  /** A TLS listener's HTTP/1.1 connections: told to end when the listener's client-certificate checks change. */
  h1Sockets: LiveSet<Socket>;
}

/**
 * Every proxy listener: `proxy.listen` (plain HTTP/1.1) and each of
 * `listeners`, built once at start from its protocols and TLS. Addresses and
 * protocols are read at start; TLS certificates and settings follow each
 * applied config (`update`), for new connections.
 */
export class ProxyListeners {
  readonly #running: Running[] = [];
  readonly #metrics: GatewayMetrics;
  /** Who may send a PROXY header to a listener that accepts one (`trusted_proxies`, as of the last config). */
  #trusted: CidrMatcher;
  readonly #log: Logger;

  constructor(
    config: Config,
    classes: ResponseClasses,
    hooks: ProxyListenerHooks,
    metrics: GatewayMetrics,
    log: Logger,
  ) {
    this.#metrics = metrics;
    this.#trusted = trustedProxies(config.trusted_proxies ?? []);
    this.#log = log;
    const proxyListener: ListenerConfig = {
      name: PROXY_LISTENER,
      listen: config.proxy.listen,
      protocols: ['http/1.1'],
      http2: HTTP2_DEFAULTS,
    };
    for (const listener of [proxyListener, ...config.listeners])
      this.#running.push(this.#build(listener, config, classes, hooks));
  }

  #build(listener: ListenerConfig, config: Config, classes: ResponseClasses, hooks: ProxyListenerHooks): Running {
    const name = listener.name;
    const proxy = config.proxy;
    const protocols = protocolsOf(listener);
    const refused = (reason: Refusal) => this.#metrics.listeners.refused.inc({ listener: name, reason });
    // Requests read the listener's config through this, so an update reaches the next request.
    const self = { config: listener };
    const http1 = protocols.includes('http/1.1')
      ? createHttp1Server(proxy, classes.http1, {
          handle: (req, res, expectsContinue) => hooks.handle(req, res, self.config, expectsContinue),
          rejected: (code, socket) => hooks.rejected(code, socket, name),
          refused,
        })
      : undefined;
    const sessions = new LiveSet<Http2Session>();
    const http2 =
      protocols.includes('h2') || protocols.includes('h2c')
        ? createHttp2Server(listener, proxy, classes.http2(), {
            handle: (req, res) => hooks.handle(req, res, self.config),
            refused,
            cancelledUnbegun: () => this.#metrics.listeners.cancelledUnbegun.inc({ listener: name }),
          })
        : undefined;
    const h2Sockets = new LiveSet<Socket>();
    http2?.on('connection', (socket: Socket) => {
      h2Sockets.add(socket);
      socket.once('close', () => h2Sockets.delete(socket));
    });
    http2?.on('session', (session: Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    let outer: Server;
    let tls: TlsListener | undefined;
    const h1Sockets = new LiveSet<Socket>();
    if (listener.tls) {
      tls = new TlsListener(listener.tls as ListenerTls, protocols, {
        secured: (socket, protocol) => {
          if (listener.proxy_protocol?.accept) carryClientAddress(socket);
          if (protocol === 'http/1.1') {
            h1Sockets.add(socket);
            socket.once('close', () => h1Sockets.delete(socket));
          }
          (protocol === 'h2' ? http2 : http1)!.emit('connection', socket);
        },
        refused,
        ...listenerTlsHooks(this.#metrics.listeners, this.#log, name),
      });
      outer = tls.server;
    } else if (http1 && http2) {
      outer = createSniffingServer((socket, protocol) => {
        if (protocol === 'h2') return http2.emit('connection', socket);
        http1.emit('connection', socket);
        socket.resume();
      }, proxy.header_timeout_ms);
    } else {
      outer = (http1 ?? http2)!;
    }
    // Limits per client address and of the connection rate are checked before anything is read (after the PROXY
    // header, which names the client).
    const admit = limitsConnections(listener) ? connectionAdmission(() => self.config, refused) : () => true;
    if (listener.proxy_protocol?.accept) {
      // The PROXY header is read first, before TLS or the first byte of HTTP; the socket is then paused with what
      // followed the header put back. TLS and HTTP/2 read that themselves; the sniffer and HTTP/1.1 need it resumed.
      const inner = outer;
      const resumes = inner !== tls?.server && inner !== http2;
      outer = createProxyProtocolFront(
        () => this.#trusted,
        proxy.header_timeout_ms,
        refused,
        (socket) => {
          if (!admit(socket)) return;
          inner.emit('connection', socket);
          if (resumes) socket.resume();
        },
      );
    } else if (limitsConnections(listener)) {
      const inner = outer;
      outer = createServer((socket) => admit(socket) && inner.emit('connection', socket));
    }
    // An HTTP/1.1 server handed sockets by another one never listens, and Node starts its header and request
    // timeouts (and the connection list closeIdleConnections reads) on 'listening' (lib/_http_server.js).
    if (http1 && outer !== http1) http1.emit('listening');
    const maxConnections = listener.max_connections ?? proxy.max_connections;
    if (maxConnections > 0) {
      outer.maxConnections = maxConnections;
      outer.on('drop', droppedConnections(this.#metrics, this.#log, maxConnections, name));
    }
    return Object.assign(self, { outer, http1, http2, tls, sessions, h2Sockets, h1Sockets });
  }

  /** Starts every listener; resolves with each one's address by name once all listen. */
  async listen(): Promise<Map<string, { host: string; port: number }>> {
    const addresses = new Map<string, { host: string; port: number }>();
    for (const r of this.#running) addresses.set(r.config.name, await listenAt(r.outer, r.config.listen));
    return addresses;
  }

  /** A new config: each TLS listener takes its new certificates and settings; address and protocol changes wait. */
  update(config: Config): void {
    this.#trusted = trustedProxies(config.trusted_proxies ?? []);
    const byName = new Map(config.listeners.map((l) => [l.name, l]));
    for (const r of this.#running) {
      if (r.config.name === PROXY_LISTENER) continue;
      const next = byName.get(r.config.name);
      byName.delete(r.config.name);
      // Its connections' PROXY headers are read or not by the listener as it started: its requests read them alike.
      const started =
        next !== undefined && next.listen === r.config.listen && sameData(next.protocols, r.config.protocols);
      if (!started || !sameData(next.proxy_protocol, r.config.proxy_protocol)) {
        this.#log.warn(
          { listener: r.config.name },
          'a listener removed, moved, or given other protocols or PROXY protocol changes on restart',
        );
        continue;
      }
      if (r.tls && next.tls && !sameData(next.tls, r.config.tls)) {
        r.tls.update(next.tls as ListenerTls);
        if (clientChecksOf(next.tls) !== clientChecksOf(r.config.tls)) this.#reconnect(r);
      }
      r.config = next;
    }
    for (const name of byName.keys()) this.#log.warn({ listener: name }, 'a new listener starts on restart');
  }

  /**
   * The listener's client-certificate checks changed (a CA, a CRL: a revoked certificate): its open connections were
   * let in under the old ones, so each is asked to end once it has answered what it is answering, and the client
   * comes back in a full handshake under the new ones (its ticket no longer resumes: sessionIdContext). HTTP/2
   * connections get GOAWAY; HTTP/1.1 ones close now if idle, else after their response, as nginx's and Envoy's do
   * when a reload drains them.
   */
  #reconnect(r: Running): void {
    const h1 = r.h1Sockets.size;
    reconnectHttp1(r.http1, r.h1Sockets);
    for (const session of r.sessions) {
      markChecksChanged(session);
      session.close();
    }
    this.#log.info(
      { listener: r.config.name, http1: h1, http2: r.sessions.size },
      'client certificate checks changed: open connections reconnect under the new ones',
    );
  }

  async connections(): Promise<number> {
    const counts = await Promise.all(
      this.#running.map(
        (r) => new Promise<number>((resolve) => r.outer.getConnections((err, n) => resolve(err ? 0 : n))),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Stops accepting, closes idle HTTP/1.1 connections and asks HTTP/2 clients to go away (GOAWAY). */
  stopAccepting(): Promise<void> {
    for (const r of this.#running) r.tls?.close();
    const closed = this.#running.map((r) => new Promise<void>((resolve) => r.outer.close(() => resolve())));
    for (const r of this.#running) {
      r.http1?.closeIdleConnections();
      for (const session of r.sessions) session.close();
    }
    return Promise.all(closed).then(() => undefined);
  }

  /** Cuts what the drain left open. */
  closeAll(): void {
    for (const r of this.#running) {
      r.http1?.closeAllConnections();
      for (const session of r.sessions) session.destroy();
      for (const socket of r.h2Sockets) socket.destroy();
    }
  }
}
