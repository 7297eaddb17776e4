/**
 * One proxy listener's servers, built from its address, protocols and TLS: the TLS server and the front that answers
 * plain HTTP sent to it, the sniffer that tells HTTP/2's preface from HTTP/1.1, the HTTP/1.1 and HTTP/2 servers, and
 * in front of them the PROXY header reader and the connection limits. Which servers are built is fixed for the
 * listener's life; a change to it needs new servers (ProxyListeners.update), which take over the listener's door
 * (door.ts): what listens at its address. Their limits follow the config (applySettings).
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import type { CidrMatcher } from '../net/cidr.ts';
import type { ConnectionLimits } from '../net/connection-limits.ts';
import { LiveSet } from '../net/live-set.ts';
import { type Started, warnStartsAgain } from '../net/listen-retry.ts';
import type { Config } from '../../control/config/schema.ts';
import { sameData } from '../../control/config/same-data.ts';
import type { ErrorCode } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { ListenerTls } from './certificates.ts';
import { applyHttp1Settings, createHttp1Server, droppedConnections } from './http1.ts';
import { createHttp2Server, http2Settings } from './http2.ts';
import { listenerTlsHooks, type Refusal } from './metrics.ts';
import type { ListenerConfig } from './schema.ts';
import { protocolsOf } from './semantics.ts';
import { connectionAdmission, limitsConnections } from './limits.ts';
import { carryClientAddress, createProxyProtocolFront } from './proxy-protocol.ts';
import { createSniffingServer } from './sniff.ts';
import { createPlainHttpFront } from './plain-http-front.ts';
import { answerPlainHttpOnTls } from '../client-errors.ts';
import { Accepted, Door } from './door.ts';
import { TlsListener } from './tls.ts';

export type ProxyRequest = IncomingMessage | Http2ServerRequest;
export type ProxyResponse = ServerResponse | Http2ServerResponse;

export interface ProxyListenerHooks {
  /** Every request of every listener, with its listener's config as last updated. */
  handle(req: ProxyRequest, res: ProxyResponse, listener: ListenerConfig, expectsContinue?: boolean): void;
  /** A request answered off the request path (a parser error, CONNECT), with its code. */
  rejected(code: ErrorCode, socket: Socket, listener: string): void;
  /** The per-client connection counts of the listener of that name, kept across its replacements (limitsOf). */
  limits(listener: string): ConnectionLimits;
}

/** The response classes of the data plane, HTTP/2's made on first use (it loads node:http2). */
export interface ResponseClasses {
  http1: typeof ServerResponse;
  http2: () => typeof Http2ServerResponse;
}

export interface Running extends Started<Running> {
  config: ListenerConfig;
  /** `proxy.*` as of the last config: timeouts and limits its servers read. */
  proxy: Config['proxy'];
  /** What listens at its address, handing each connection to `entry`; handed on to the servers replacing these. */
  door: Door;
  /** Where the door hands a connection: the PROXY header reader, the connection limits, the front of the TLS
   * server, the sniffer, or the HTTP/1.1 or HTTP/2 server itself. */
  entry: Server;
  /** The connections the door handed to these servers. */
  accepted: Accepted;
  http1?: HttpServer;
  http2?: Http2Server;
  tls?: TlsListener;
  sessions: LiveSet<Http2Session>;
  /** The connections HTTP/2 runs on: a session destroyed while its client keeps the connection open only half-closes
   * it and waits, so closeAll cuts these too. */
  h2Sockets: LiveSet<Socket>;
  /** HTTP/1.1 connections: told to end when the listener's client-certificate checks change, or it is retired. */
  h1Sockets: LiveSet<Socket>;
}

/** What building a listener needs of the listener set. */
export interface BuildContext {
  classes: ResponseClasses;
  hooks: ProxyListenerHooks;
  metrics: GatewayMetrics;
  log: Logger;
  /** Who may send a PROXY header (`trusted_proxies`, as of the last config). */
  trusted: () => CidrMatcher;
}

/** `door`: the door of the listener these servers replace on the same address, taken over. */
export function buildListener(listener: ListenerConfig, config: Config, ctx: BuildContext, door?: Door): Running {
  const { classes, hooks, metrics, log } = ctx;
  const name = listener.name;
  const protocols = protocolsOf(listener);
  const refused = (reason: Refusal) => metrics.listeners.refused.inc({ listener: name, reason });
  // Requests and connections read the listener's config and `proxy.*` through this, so an update reaches the next.
  const self = { config: listener, proxy: config.proxy };
  const headTimeoutMs = () => self.proxy.header_timeout_ms;
  const http1 = protocols.includes('http/1.1')
    ? createHttp1Server(self, classes.http1, {
        handle: (req, res, expectsContinue) => hooks.handle(req, res, self.config, expectsContinue),
        rejected: (code, socket) => hooks.rejected(code, socket, name),
        refused,
      })
    : undefined;
  const sessions = new LiveSet<Http2Session>();
  const http2 =
    protocols.includes('h2') || protocols.includes('h2c')
      ? createHttp2Server(self, classes.http2(), {
          handle: (req, res, expectsContinue) => hooks.handle(req, res, self.config, expectsContinue),
          refused,
          cancelledUnbegun: () => metrics.listeners.cancelledUnbegun.inc({ listener: name }),
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
  let entry: Server;
  let tls: TlsListener | undefined;
  // Tracked so a reload can end them. New connections/s with it, measured beside the build before it (wrk -c20
  // -H 'Connection: close' on proxy.listen, 3 rounds of 8 s, medians): 12,018 against 12,287, within the rounds' noise.
  const h1Sockets = new LiveSet<Socket>();
  http1?.on('connection', (socket: Socket) => {
    h1Sockets.add(socket);
    socket.once('close', () => h1Sockets.delete(socket));
  });
  if (listener.tls) {
    tls = new TlsListener(listener.tls as ListenerTls, protocols, {
      secured: (socket, protocol) => {
        if (listener.proxy_protocol?.accept) carryClientAddress(socket);
        (protocol === 'h2' ? http2 : http1)!.emit('connection', socket);
      },
      refused,
      ...listenerTlsHooks(metrics.listeners, log, name),
    });
    // A client speaking plain HTTP to it gets a 400 it can read, as from nginx; the rest go on to TLS.
    entry = createPlainHttpFront(tls.server, listener.tls.handshake_timeout_ms, refused, (socket) =>
      hooks.rejected(answerPlainHttpOnTls(socket), socket, name),
    );
  } else if (http1 && http2) {
    entry = createSniffingServer((socket, protocol) => {
      if (protocol === 'h2') return http2.emit('connection', socket);
      http1.emit('connection', socket);
      socket.resume();
    }, headTimeoutMs);
  } else {
    entry = (http1 ?? http2)!;
  }
  // Limits per client address and of the connection rate are checked before anything is read (after the PROXY
  // header, which names the client).
  const admit = limitsConnections(listener)
    ? connectionAdmission(() => self.config, refused, hooks.limits(name))
    : () => true;
  if (listener.proxy_protocol?.accept) {
    // The PROXY header is read first, before TLS or the first byte of HTTP; the socket is then paused with what
    // followed the header put back. HTTP/2 and the front of TLS read that themselves; the sniffer and HTTP/1.1 need
    // it resumed.
    const inner = entry;
    const resumes = tls === undefined && inner !== http2;
    entry = createProxyProtocolFront(ctx.trusted, headTimeoutMs, refused, (socket) => {
      if (!admit(socket)) return;
      inner.emit('connection', socket);
      if (resumes) socket.resume();
    });
  } else if (limitsConnections(listener)) {
    const inner = entry;
    entry = createServer((socket) => admit(socket) && inner.emit('connection', socket));
  }
  // The HTTP/1.1 server is handed sockets and never listens, and Node starts its header and request timeouts (and
  // the connection list closeIdleConnections reads) on 'listening' (lib/_http_server.js).
  http1?.emit('listening');
  const running: Running = Object.assign(self, {
    entry,
    accepted: new Accepted(),
    http1,
    http2,
    tls,
    sessions,
    h2Sockets,
    h1Sockets,
    // Set below: a new door leads to this object.
    door: door as Door,
  });
  if (door) door.handTo(running);
  else {
    const server = (running.door = new Door(running)).server;
    server.on(
      'drop',
      droppedConnections(metrics, log, () => server.maxConnections, name),
    );
  }
  running.door.server.maxConnections = maxConnectionsOf(listener, config.proxy);
  return running;
}

/** The config's 0 is no limit; Node's is Infinity (0 drops every connection). */
const maxConnectionsOf = (listener: ListenerConfig, proxy: Config['proxy']) =>
  (listener.max_connections ?? proxy.max_connections) || Number.POSITIVE_INFINITY;

/**
 * A new config's limits for a listener kept by a reload. Timeouts, header limits and max_connections apply to open
 * connections as well; HTTP/2 SETTINGS to the connections that come after. Two limits Node takes only when a server
 * is made wait for the listener to start again, and the log says so.
 */
export function applySettings(r: Running, listener: ListenerConfig, proxy: Config['proxy'], log: Logger): void {
  const fixed = [
    listener.http2.max_session_memory_mb !== r.config.http2.max_session_memory_mb && 'http2.max_session_memory_mb',
    listener.tls?.handshake_timeout_ms !== r.config.tls?.handshake_timeout_ms && 'tls.handshake_timeout_ms',
  ].filter((field) => field !== false);
  warnStartsAgain(log, 'listener', listener.name, fixed);
  if (r.http1) applyHttp1Settings(r.http1, proxy);
  if (r.http2 && !sameData(http2Settings(listener.http2), http2Settings(r.config.http2)))
    r.http2.updateSettings(http2Settings(listener.http2));
  r.door.server.maxConnections = maxConnectionsOf(listener, proxy);
  r.config = listener;
  r.proxy = proxy;
}
