/**
 * HTTP/1.1 for a proxy listener: a Node server with the limits of `proxy.*`
 * (a reload applies new ones: applyHttp1Settings), and the answers to what the
 * parser refuses and to CONNECT. Every request goes to the data plane's `handle`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createServer } from '../../../shared/http.ts';
import type { Config } from '../../control/config/schema.ts';
import type { ErrorCode } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import { answerClientError, answerConnect, handleClientSocketErrors } from '../client-errors.ts';
import type { Refusal } from './metrics.ts';
import { CountingRequest } from '../net/counting-request.ts';
import { asksForWebSocket } from '../websocket/handshake.ts';
import { afterAnswers, inTurn } from './pipelining.ts';
import { endAndDrain } from '../net/close-grace.ts';

export interface Http1Hooks {
  handle(req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean): void;
  /** A request answered off the request path (a parser error, CONNECT), with its code. */
  rejected(code: ErrorCode, socket: Socket): void;
  /** A connection closed before it was a request, and why. */
  refused(reason: Refusal): void;
}

/** A TLS record (a ClientHello: handshake type 22, version 3.x) where an HTTP request line should be. */
function isTlsRecord(packet: Buffer | undefined): boolean {
  return packet !== undefined && packet.length >= 2 && packet[0] === 0x16 && packet[1] === 0x03;
}

/** The settings of `proxy.*` a listener reads as it serves: the last config's (ProxyListeners.update). */
export interface LiveProxy {
  proxy: Config['proxy'];
}

/**
 * The server's limits from `proxy.*`. Node reads each of these properties as it uses it (a new connection's parser,
 * each response's keep-alive, each check of the timeouts), so setting them applies to connections already open too.
 */
export function applyHttp1Settings(server: Server, p: Config['proxy']): void {
  // Where the server keeps its maxHeaderSize option (lib/_http_server.js storeHTTPOptions), which @types/node leaves
  // out; test/proxy/listeners/reload-settings.test.ts fails if Node stops reading it there.
  Object.assign(server, { maxHeaderSize: p.max_header_bytes });
  server.headersTimeout = p.header_timeout_ms;
  server.requestTimeout = p.request_timeout_ms;
  server.keepAliveTimeout = p.keep_alive_ms;
}

export function createHttp1Server(live: LiveProxy, Response: typeof ServerResponse, hooks: Http1Hooks): Server {
  const p = live.proxy;
  // Requests pipelined behind another are served one at a time (pipelining.ts).
  const handle = inTurn(
    hooks.handle,
    () => live.proxy.max_pipelined_requests,
    () => hooks.refused('pipeline_overflow'),
  );
  const server = createServer(
    {
      maxHeaderSize: p.max_header_bytes,
      headersTimeout: p.header_timeout_ms,
      requestTimeout: p.request_timeout_ms,
      keepAliveTimeout: p.keep_alive_ms,
      // Host is checked at the edge (request-id stage) so the refusal is our JSON error, not Node's bare 400.
      requireHostHeader: false,
      // How often the timeouts are checked, fixed here: a header timeout a reload lowers below 1 s is enforced to
      // within this.
      connectionsCheckingInterval: Math.min(1000, p.header_timeout_ms),
      ServerResponse: Response,
      IncomingMessage: CountingRequest as typeof IncomingMessage,
      // WebSocket handshakes take the upgrade path (a tunnel); any other upgrade (h2c) is an ordinary request.
      shouldUpgradeCallback: (req: IncomingMessage) => asksForWebSocket(req.headers.upgrade),
    },
    handle,
  );
  handleClientSocketErrors(server);
  // A handshake goes through the stages like any request, with a response bound to its socket: a refusal, or an
  // upstream's answer other than 101, is written there and ends the connection; a 101 makes it a tunnel.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
    afterAnswers(socket, () => upgrade(req, socket, head)),
  );
  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const res = new Response(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    // A refusal (the gateway's, or the upstream's answer other than 101) is the connection's last answer. Frames the
    // client sent behind its handshake, left unread, held its close back: the request was never done (never counted)
    // and its connection was kept for good (test/proxy/websocket-refused.test.ts).
    res.once('finish', () => endAndDrain(socket));
    if (head.length > 0) socket.unshift(head);
    hooks.handle(req, res);
  };
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    // A TLS client on a plaintext port cannot read an HTTP answer: the connection is closed, and counted.
    if (err.code === 'HPE_INVALID_METHOD' && isTlsRecord(err.rawPacket)) {
      hooks.refused('tls_on_plaintext');
      socket.destroy();
      return;
    }
    const code = answerClientError(err, socket);
    // The parser refused it, so it never became a request; it is still counted, with its reason.
    if (code) hooks.rejected(code, socket);
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) =>
    afterAnswers(socket, () => hooks.rejected(answerConnect(req, socket), socket)),
  );
  // Without these listeners Node answers `Expect: 100-continue` with a 100
  // before any stage has looked at the request, and any other expectation
  // with a bare 417. The 100 now goes out only when the body is about to be
  // read (RequestContext.continueBody); other expectations are ignored, as
  // nginx and HAProxy do (RFC 9110 10.1.1 allows either).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));
  server.on('checkExpectation', handle);
  return server;
}

/** A dropped connection is counted, and logged at most once a minute with how many went since. */
export function droppedConnections(
  metrics: GatewayMetrics,
  log: Logger,
  max: () => number,
  listener: string,
): () => void {
  let loggedAt = 0;
  let unlogged = 0;
  return () => {
    metrics.connectionsDropped.inc();
    unlogged++;
    const now = Date.now();
    if (now - loggedAt < 60_000) return;
    log.warn(
      { listener, max_connections: max(), dropped: unlogged },
      "client connections dropped: the listener's max_connections are open (this line comes at most once a minute)",
    );
    loggedAt = now;
    unlogged = 0;
  };
}
