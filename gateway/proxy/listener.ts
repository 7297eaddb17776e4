/**
 * The proxy's HTTP/1.1 listener: a Node server with the limits of
 * `proxy.*` (changing them needs a restart), the answers to what the parser
 * refuses and to CONNECT, and the `proxy.max_connections` drop. Every request
 * goes to the data plane's `handle`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createServer } from '../../shared/http.ts';
import type { Config } from '../control/config/schema.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { answerClientError, answerConnect } from './client-errors.ts';
import { CountingRequest } from './net/counting-request.ts';
import type { responseClass } from './events/group-commit.ts';

export interface ListenerHooks {
  handle(req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean): void;
  /** A request answered off the request path (a parser error, CONNECT), with its code. */
  rejected(code: ErrorCode, socket: Socket): void;
  /** Node closed a connection over `proxy.max_connections` as soon as it was accepted. */
  dropped(): void;
}

export function createListener(
  p: Config['proxy'],
  Response: ReturnType<typeof responseClass>,
  hooks: ListenerHooks,
): Server {
  const server = createServer(
    {
      maxHeaderSize: p.max_header_bytes,
      headersTimeout: p.header_timeout_ms,
      requestTimeout: p.request_timeout_ms,
      keepAliveTimeout: p.keep_alive_ms,
      // Host is checked at the edge (request-id stage) so the refusal is our JSON error, not Node's bare 400.
      requireHostHeader: false,
      connectionsCheckingInterval: Math.min(1000, p.header_timeout_ms),
      ServerResponse: Response,
      IncomingMessage: CountingRequest as typeof IncomingMessage,
    },
    hooks.handle,
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = answerClientError(err, socket);
    // The parser refused it, so it never became a request; it is still counted, with its reason.
    if (code) hooks.rejected(code, socket);
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => hooks.rejected(answerConnect(req, socket), socket));
  if (p.max_connections > 0) {
    server.maxConnections = p.max_connections;
    server.on('drop', hooks.dropped);
  }
  // Without these listeners Node answers `Expect: 100-continue` with a 100
  // before any stage has looked at the request, and any other expectation
  // with a bare 417. The 100 now goes out only when the body is about to be
  // read (RequestContext.continueBody); other expectations are ignored, as
  // nginx and HAProxy do (RFC 9110 10.1.1 allows either).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => hooks.handle(req, res, true));
  server.on('checkExpectation', hooks.handle);
  return server;
}

/** A dropped connection is counted, and logged at most once a minute with how many went since. */
export function droppedConnections(metrics: GatewayMetrics, log: Logger, max: number): () => void {
  let loggedAt = 0;
  let unlogged = 0;
  return () => {
    metrics.connectionsDropped.inc();
    unlogged++;
    const now = Date.now();
    if (now - loggedAt < 60_000) return;
    log.warn(
      { max_connections: max, dropped: unlogged },
      'client connections dropped: proxy.max_connections are open (this line comes at most once a minute)',
    );
    loggedAt = now;
    unlogged = 0;
  };
}
