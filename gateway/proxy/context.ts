import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, errors, grpcStatusOf, type ErrorCode } from '../errors.ts';
import { encodeGrpcMessage } from './grpc/status.ts';
import { GrpcMessageCounter } from './grpc/messages.ts';
import { grpcWebCall, type GrpcWebCall } from './grpc/web.ts';
import { tlsVersionOf } from './net/tls-version.ts';
import type { ErrorClass } from '../../shared/access-event.ts';
import type { CompiledRoute, Snapshot } from './snapshot.ts';
import type { BalanceRequest } from './upstream/balancer.ts';
import type { Target } from './upstream/target.ts';
import type { UpstreamPool } from './upstream/pool.ts';
import type { App } from '../control/apps/types.ts';
import { secretExpiry } from '../control/apps/secret.ts';
import type { ListenerConfig } from './listeners/schema.ts';
import { clientAddressOf } from './listeners/proxy-protocol.ts';
import type { Span } from '@opentelemetry/api';

/** Counts the messages of a byte stream split anywhere (GrpcMessageCounter, websocket/frames.ts). */
export interface MessageCounter {
  /** Messages so far. */
  count: number;
  push(chunk: Uint8Array): void;
}

/** The traffic of a request still open that interim events carried, and when the last one went (performance.now()). */
export interface Reported {
  atMs: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
}

/** application/grpc, alone or with a subtype (+proto, +json) or parameters; not gRPC-Web (application/grpc-web). */
export function isGrpc(contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.startsWith('application/grpc')) return false;
  const next = contentType.charCodeAt(16);
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

/**
 * Per-request state handed from stage to stage. It is also the BalanceRequest
 * a balancer reads (clientIp, headers, path, query). Holds the snapshot the
 * request started on, so a reload mid-request never changes its config.
 */
export class RequestContext implements BalanceRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly snapshot: Snapshot;
  /** The listener that took the request, its config as when the request started. */
  readonly listener: ListenerConfig;
  /** What the client speaks: HTTP/1.x, or HTTP/2 (Node's compatibility request: req and res mimic HTTP/1). */
  readonly protocol: 'http/1.1' | 'h2';
  /**
   * A gRPC call: HTTP/2 with content-type application/grpc (+proto, +json...), or a gRPC-Web call over any HTTP
   * version. The gateway answers it in gRPC.
   */
  readonly grpc: boolean;
  /** A gRPC-Web call (content-type application/grpc-web…), translated to gRPC for an HTTP/2 upstream. */
  readonly grpcWeb: GrpcWebCall | undefined;
  /** performance.now() by which a gRPC call must be answered (its grpc-timeout; the grpc stage sets it), else 0. */
  grpcDeadlineMs = 0;
  /** A gRPC call's status as the client got it (the upstream's trailers or head, or the gateway's); -1: none. */
  grpcStatus = -1;
  /**
   * Messages from the client and to it, counted as they stream: a gRPC call's, or a WebSocket connection's (its
   * tunnel sets them); undefined when neither, or not recorded.
   */
  messagesIn: MessageCounter | undefined;
  messagesOut: MessageCounter | undefined;
  /** A WebSocket handshake (Upgrade: websocket, taken by the listener's upgrade path): the proxy opens a tunnel. */
  readonly websocket: boolean;
  /** How a WebSocket connection ended (its tunnel sets it): the close code and why; undefined for a request. */
  closed: { code: number; reason: string } | undefined = undefined;
  /** The client connection's TLS version ('TLSv1.3'), '' for plaintext or when not recorded. */
  readonly tlsVersion: string;
  /** performance.now() when the request head was parsed. */
  readonly startMs: number;
  requestId = '';
  /** Host without port, lower-cased ('' when absent). */
  host = '';
  /** Path without query, in canonical form (docs/path-handling.md): what routing, every stage and the access event
   * read. */
  path = '/';
  /** The path as the client spelled it (without query); only a route with forward_original_path sends it. */
  originalPath = '/';
  /** The canonical path with its ;params, sent upstream in place of `path` (proxy.paths.path_params: keep); else
   * undefined. */
  forwardPath: string | undefined = undefined;
  /** Raw query string without its `?` ('' when none). */
  query = '';
  /** The request headers (the context is the BalanceRequest balancers read, so nothing is allocated for them). */
  readonly headers: IncomingMessage['headers'];
  clientIp: string;
  route: CompiledRoute | undefined = undefined;
  /** The authenticated tenant ('' and undefined when anonymous). */
  appId = '';
  app: App | undefined = undefined;
  /** The stored hash of the secret an API key matched (authenticate): a long-lived request is held to it. */
  secretHash: string | undefined = undefined;
  /** When the credential that let this request in stops working (epoch ms), as of the identity it last saw. */
  credentialUntilMs = Infinity;
  /** When the token that let this request in expires (epoch ms), under auth.end_at_token_expiry; else never. */
  tokenUntilMs = Infinity;
  /** The route's authorisation this request passed (stages/authorise), checked again when its app's rights change. */
  authorisation: ((ctx: RequestContext) => string | undefined) | undefined = undefined;
  /** Matched prefix of a prefix route (for strip_prefix). */
  matchedPrefix = '';
  /** Path (with query) sent upstream. */
  upstreamPath = '/';
  upstreamHeaders: Record<string, string | string[]> = {};
  target: Target | undefined = undefined;
  /** The canary group's upstream when the canary stage chose one; else the proxy uses the route's service upstream. */
  upstream: UpstreamPool | undefined = undefined;
  /** Headers a stage adds to whatever answers this request, proxied or gateway-written (CORS); shared objects, never
   * mutated. */
  responseHeaders: Record<string, string> | undefined = undefined;
  /** Largest request body: proxy.max_body_bytes, or the service's max_body_bytes (set by body-limit); 0 = unlimited. */
  maxBodyBytes: number;
  /** Run once when the response is done, with its final status (rate-limit: refund a QPD unit the request did not
   * bill). A shared function, never a per-request closure. */
  onDone: ((ctx: RequestContext, status: number) => void) | undefined = undefined;
  /** A request body a stage already read whole (the guard's bounded JSON inspection); the proxy sends it instead of the
   * client stream. */
  body: Buffer | undefined = undefined;
  /** The client sent `Expect: 100-continue` and waits for a 100 before its body (continueBody). */
  expectsContinue = false;
  /** Code of a reply the gateway wrote itself. */
  errorCode: ErrorCode | undefined = undefined;
  /**
   * The status access events and metrics record where it is not the one sent: a gRPC refusal goes out as
   * HTTP 200 with a grpc-status, and is recorded with its code's HTTP status (429 for a rate limit), so
   * reports, error rates and billing read a refused call as they read a refused request.
   */
  recordStatus: number | undefined = undefined;
  /** Set when the response closes: the client left while its request was still arriving (DataPlane.done). */
  clientLeftMidRequest = false;
  /** The upstream attempt in flight has been handed the whole request (head and body); false again if it fails. */
  forwarded = false;
  /** Set while an upstream exchange is in flight, so a client that leaves can abort it. */
  exchange: { abort(reason: Error): void } | undefined = undefined;
  finished = false;
  /** Seconds from start to the response's end(), when its access event was committed there; -1 until then. */
  eventSeconds = -1;
  /** An access event will record this request (an event sink is on). Only the event reads the upstream timing, the
   * TLS version and the gRPC message counts, so without one the proxy skips them. */
  readonly recorded: boolean;
  /** For the access event: what the upstream answered (0 = nothing), when the exchange started and how long it took. */
  upstreamStatus = 0;
  upstreamStartMs = 0;
  upstreamMs = 0;
  /** Body bytes received from the client and sent to it. */
  bytesIn = 0;
  bytesOut = 0;
  /** The request's server span while tracing is on, started on first use (tracing/spans.ts). */
  span: Span | undefined = undefined;
  /** What interim events already carried, while it stays open (events/access-event.ts); undefined before the first. */
  reported: Reported | undefined = undefined;
  /** Its cut final event is kept (events/unfinished.ts), since its first interim event or once open a second: its
   * end settles it. */
  cutKept = false;
  /** Its place among the open requests that may get interim events (events/open-requests.ts). */
  openIndex: number | undefined = undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    snapshot: Snapshot,
    startMs: number,
    recorded: boolean,
    listener: ListenerConfig,
  ) {
    this.req = req;
    this.res = res;
    this.snapshot = snapshot;
    this.listener = listener;
    // Only an HTTP/2 request has a stream; an HTTP/1 request line saying HTTP/2.0 is refused at the edge.
    this.protocol = (req as { stream?: unknown }).stream !== undefined ? 'h2' : 'http/1.1';
    const contentType = req.headers['content-type'];
    this.grpcWeb = grpcWebCall(contentType);
    this.grpc = (this.protocol === 'h2' && isGrpc(contentType)) || this.grpcWeb !== undefined;
    // Node sets `upgrade` on a request its upgrade path took (listeners/http1.ts: WebSocket handshakes only); over
    // HTTP/2 a WebSocket is an extended CONNECT (RFC 8441), which only the 'connect' path hands on (http2.ts).
    this.websocket =
      (req as { upgrade?: boolean }).upgrade === true ||
      (this.protocol === 'h2' && req.headers[':protocol'] === 'websocket');
    this.messagesIn = recorded && this.grpc ? new GrpcMessageCounter() : undefined;
    this.messagesOut = recorded && this.grpc ? new GrpcMessageCounter() : undefined;
    this.tlsVersion = recorded ? tlsVersionOf(req.socket) : '';
    this.startMs = startMs;
    this.recorded = recorded;
    this.headers = req.headers;
    this.clientIp = clientAddressOf(req.socket);
    this.maxBodyBytes = snapshot.config.proxy.max_body_bytes;
  }

  /** Adds headers to whatever answers this request; merged (one new object) when another stage added some. */
  addResponseHeaders(headers: Record<string, string> | undefined): void {
    if (headers === undefined) return;
    this.responseHeaders = this.responseHeaders === undefined ? headers : { ...this.responseHeaders, ...headers };
  }

  /**
   * What no longer holds of what let this long-lived request (a WebSocket, a stream) in: its app, disabled or
   * deleted (looked up when `appsChanged`: the identity changes without a reload); its app's rights, narrowed so
   * that the route's authorisation (roles, allowed addresses) refuses it now; or the secret its API key matched,
   * rotated out (at once, or once its overlap is over). A token is checked once, as it was presented, unless the
   * service ends what it let in at its expiry (auth.end_at_token_expiry). What such a request has open is ended
   * (events/open-requests.ts, websocket/open-tunnel.ts).
   */
  withdrawn(appsChanged: boolean, nowMs: number): 'app' | 'forbidden' | 'credential' | 'expired' | undefined {
    if (appsChanged && this.app !== undefined) {
      const app = this.snapshot.runtime.identity.apps.get(this.app.id);
      if (app?.status !== 'enabled') return 'app';
      if (app !== this.app) {
        this.app = app;
        if (this.authorisation?.(this) !== undefined) return 'forbidden';
      }
      if (this.secretHash !== undefined) this.credentialUntilMs = secretExpiry(app, this.secretHash) ?? 0;
    }
    if (nowMs >= this.credentialUntilMs) return 'credential';
    return nowMs >= this.tokenUntilMs ? 'expired' : undefined;
  }

  /**
   * The access event's error class for this request once it ended with
   * `status`; QPD refunds read the same, so the quota and the bill agree.
   */
  errorClass(status: number): ErrorClass {
    if (this.errorCode !== undefined) return errors[this.errorCode].errorClass;
    if (status !== 499 && !this.clientLeftMidRequest) return 'none';
    // The client left: late once the upstream had its whole request or had begun its answer (the service had it).
    return this.forwarded || this.upstreamStatus !== 0 ? 'client_closed_late' : 'client_closed';
  }

  /**
   * Sends the 100 Continue a client that sent `Expect: 100-continue` waits
   * for, once, when a stage is about to read the body: a request refused
   * before (404, 401, 413, ...) never gets one, and its body is never sent.
   */
  continueBody(): void {
    if (!this.expectsContinue) return;
    this.expectsContinue = false;
    // An HTTP/2 stream reset a moment ago is destroyed before its response hears of it, and Node throws then.
    if ((this.res as { stream?: { destroyed: boolean } }).stream?.destroyed) return;
    this.res.writeContinue();
  }

  /** One response in tollgate_responses_aborted_total: by service, the status class sent (4xx for a 499) and why. */
  countAborted(status: number, reason: ErrorClass): void {
    this.snapshot.metrics.responsesAborted.inc({
      service: this.route ? this.route.service.name : '',
      status_class: `${(status / 100) | 0}xx`,
      reason,
    });
  }

  /**
   * Ends the request with a gateway-written JSON error. Safe to call once the
   * response has started: then the client connection is cut instead, because
   * a status line cannot be taken back, and the cut is counted in
   * tollgate_responses_aborted_total. `fields` are more members of the JSON body.
   */
  reply(code: ErrorCode, extraHeaders?: Record<string, string>, fields?: Record<string, string>): false {
    if (this.grpc) return this.replyGrpc(code, extraHeaders);
    const res = this.res;
    this.errorCode = code;
    if (res.headersSent) {
      // Counted apart from requests_total, which keeps the status the client saw, so a cut 200 is not taken for a clean
      // one.
      if (!res.destroyed) this.countAborted(res.statusCode, errors[code].errorClass);
      res.destroy();
      return false;
    }
    const body = errorBody(code, this.requestId, undefined, fields);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': this.requestId,
      ...this.responseHeaders,
      ...extraHeaders,
    };
    // HTTP/2 has no Connection header (Node throws on one): ending the stream is all a refusal needs there.
    if (this.protocol === 'h2') delete headers.connection;
    res.writeHead(errors[code].status, headers);
    // Counted before end(), which records the access event.
    this.bytesOut = headers['content-length'] as number;
    res.end(body);
    return false;
  }

  /**
   * A gateway-written reply to a gRPC call: its status and message as gRPC
   * says them. Before the response started, trailers-only: one HEADERS frame
   * with END_STREAM (Node's compatibility response sends that for an end()
   * with no writeHead before it). After, the call ends with the status in its
   * trailers, as a server ends a failed stream, rather than a reset. `grpcStatus` overrides the code's own
   * (an upstream's stream reset, mapped by its error code).
   */
  replyGrpc(code: ErrorCode, extraHeaders?: Record<string, string>, grpcStatus?: number): false {
    const res = this.res;
    this.errorCode = code;
    this.grpcStatus = grpcStatus ?? grpcStatusOf(code);
    const status = String(this.grpcStatus);
    const message = encodeGrpcMessage(errors[code].message);
    if (res.headersSent) {
      if (!res.destroyed && !res.writableEnded) {
        const trailers = { 'grpc-status': status, 'grpc-message': message };
        // gRPC-Web has no HTTP trailers: its status is the body's last frame.
        if (this.grpcWeb) res.end(this.grpcWeb.trailerFrame(trailers));
        else {
          res.addTrailers(trailers);
          res.end();
        }
      }
      return false;
    }
    res.statusCode = 200;
    this.recordStatus = errors[code].status;
    const headers: Record<string, string> = {
      'content-type': this.grpcWeb?.contentType ?? 'application/grpc',
      'tollgate-error-code': code,
      'grpc-status': status,
      'grpc-message': message,
      'x-request-id': this.requestId,
      ...this.responseHeaders,
      ...extraHeaders,
    };
    // HTTP/2 has no Connection header; a gRPC-Web call over HTTP/1.1 keeps a `close` a stage asked for.
    if (this.protocol === 'h2') delete headers.connection;
    for (const name in headers) res.setHeader(name, headers[name]);
    this.bytesOut = 0;
    res.end();
    return false;
  }
}
