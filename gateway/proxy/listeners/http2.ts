import type * as Http2 from 'node:http2';
import { createRequire } from 'node:module';
import type { LiveProxy } from './http1.ts';
import type { Refusal } from './metrics.ts';
import type { ListenerConfig } from './schema.ts';
import { pingSession, sessionInternal } from '../net/h2-session.ts';
import { adoptStreamTables } from '../net/h2-stream-table.ts';
import { type BeforeEnd, responseClass } from '../events/group-commit.ts';

/** Loaded on first use: a gateway without an HTTP/2 listener does not carry node:http2 (and node:tls) in memory. */
const load = () => createRequire(import.meta.url)('node:http2') as typeof Http2;

export interface Http2Hooks {
  handle(req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse, expectsContinue?: boolean): void;
  refused(reason: Refusal): void;
  /** A request its client cancelled before it was begun (in the read that brought it). */
  cancelledUnbegun(): void;
}

/**
 * The proxy listener's HTTP/2 request class: Node's compatibility request,
 * counting the body bytes the stream hands over (as CountingRequest does for
 * HTTP/1.1), with Host taken from :authority when the client sent none, so
 * every stage reads the host the same way whatever the protocol.
 */
export function countingHttp2Request(h2: typeof Http2) {
  class CountingHttp2Request extends h2.Http2ServerRequest {
    bodyBytes = 0;
    /** The stream was reset (or its connection lost) before the client's END_STREAM came. */
    cutShort = false;

    constructor(...args: ConstructorParameters<typeof Http2.Http2ServerRequest>) {
      super(...args);
      const headers = this.headers;
      if (headers.host === undefined && headers[':authority'] !== undefined) headers.host = headers[':authority'];
      this.on('aborted', noteCutShort);
    }

    override push(chunk: unknown, encoding?: BufferEncoding): boolean {
      if (chunk !== null) this.bodyBytes += (chunk as Buffer).length;
      return super.push(chunk, encoding);
    }
  }
  // `complete` says what it says of an HTTP/1.1 request: the client sent its whole request. Node's is true once the
  // stream closed, however it closed (a reset ends its readable side too), so a client that reset its stream
  // halfway through its body was recorded as a whole request: error class `none`, bytes in the Content-Length.
  Object.defineProperty(CountingHttp2Request.prototype, 'complete', {
    get(this: CountingHttp2Request): boolean {
      return !this.cutShort && readableEnded(this.stream);
    },
  });
  return CountingHttp2Request;
}

/**
 * Node emits `aborted` on a stream reset while its response was unfinished, before it ends the stream's readable
 * side: whether the client's END_STREAM came is read then. (`this` of an event listener is the emitter.)
 */
function noteCutShort(this: Http2.Http2ServerRequest & { cutShort: boolean }): void {
  this.cutShort = !readableEnded(this.stream);
}

/** END_STREAM came: the readable side ended, whether or not what came before it was read. */
const readableEnded = (stream: Http2.ServerHttp2Stream): boolean =>
  (stream as unknown as { _readableState: { ended: boolean } })._readableState.ended;

/**
 * The proxy listener's HTTP/2 response class (responseClass). `writableFinished` says what it says of an HTTP/1.1
 * response, that the client has the whole answer: Node's is also true of a stream its client reset before that.
 */
export function http2ResponseClass(beforeEnd?: BeforeEnd): typeof Http2.Http2ServerResponse {
  const Response = responseClass(load().Http2ServerResponse, beforeEnd);
  Object.defineProperty(Response.prototype, 'writableFinished', {
    get(this: Http2.Http2ServerResponse): boolean {
      return !this.req.aborted && this.stream.writableFinished;
    },
  });
  return Response;
}

/**
 * HTTP/2 for a proxy listener: h2 over TLS (the TLS listener hands it the
 * sockets ALPN chose h2 for) and h2c (it listens itself, or the sniffer hands
 * it the connections that start with the HTTP/2 preface). Node's
 * compatibility API, so a request reaches the same stages as HTTP/1.1. Its
 * SETTINGS follow reloads (http2Settings); each session reads the keep-alive
 * and ping timeout of the config it starts under.
 */
export function createHttp2Server(
  live: LiveProxy & { config: ListenerConfig },
  Response: typeof Http2.Http2ServerResponse,
  hooks: Http2Hooks,
): Http2.Http2Server {
  const h2 = load();
  // A request is begun once the frames of the read that brought it are all in (setImmediate: nextTick and
  // microtasks run between frames), so one its client cancelled in the same read is never begun: a rapid-reset
  // flood (CVE-2023-44487: HEADERS then RST_STREAM, thousands to a read) sends nothing upstream. Begun at once,
  // each opened an upstream connection and was aborted: ~1,400 a flooding connection, and another client's wait
  // went from ~250 ms (a bare node:http2 server) to ~850 ms (test/proxy/listeners/h2-floods.test.ts prints it).
  const begin = (req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse, expectsContinue?: boolean) => {
    if (req.stream.destroyed) hooks.cancelledUnbegun();
    else hooks.handle(req, res, expectsContinue);
  };
  const onRequest = (req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse, expectsContinue?: boolean) => {
    req.stream.on('wantTrailers', closeUnfinished);
    req.stream.on('finish', closeEnded); // 'finish' comes once; on() spares once()'s wrapper per request
    if (req.method === 'HEAD') req.stream.once('close', () => closeUnansweredHead(h2, res));
    setImmediate(begin, req, res, expectsContinue);
  };
  const server = h2.createServer(
    {
      settings: http2Settings(live.config.http2),
      maxSessionMemory: live.config.http2.max_session_memory_mb,
      // Node counts pairs, not bytes; the byte bound is max_header_list_bytes. Browsers split Cookie into
      // one field per cookie on HTTP/2, so Node's 128 would refuse some of them.
      maxHeaderListPairs: 1024,
      // An HTTP/1.1 upstream may send a header Node calls single-value (Content-Type, Location) on two lines; they go
      // on as sent, as to an HTTP/1.1 client. Node's default refused the head: a 502, or no answer at all.
      strictSingleValueFields: false,
      Http2ServerRequest: countingHttp2Request(h2),
      Http2ServerResponse: Response,
    },
    onRequest,
  );
  // As over HTTP/1.1 (http1.ts), the 100 goes out when a stage is about to read the body, and any other expectation
  // is ignored. Without these listeners Node answered both itself as the stream came (a 100, or a bare 417), and threw
  // out of its stream event when the stream was already gone: frames the sniffer hands on in one buffer are all read
  // before any stream event, so a connection they break (a body past its Content-Length) destroys streams not yet
  // emitted. That took the process down (test/proxy/expect-continue.test.ts).
  server.on('checkContinue', (req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse) =>
    onRequest(req, res, true),
  );
  server.on('checkExpectation', onRequest);
  // Node hands CONNECT to 'connect' (and answers 405 itself when nothing listens). An extended CONNECT for WebSocket
  // is a request like any other; any other CONNECT (a tunnel to a host) is refused and counted by the request-id
  // stage, as over HTTP/1.1 (501 GW_ERR_METHOD_NOT_SUPPORTED).
  server.on('connect', (req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse) => {
    setImmediate(begin, req, res);
  });
  // A connection that never became a session (no preface, a bad one) or broke the protocol is closed by Node
  // with GOAWAY; it is counted here.
  server.on('sessionError', (err: NodeJS.ErrnoException) => {
    // nghttp2 calls the preface the client magic.
    const preface = err.code === 'ERR_HTTP2_ERROR' && /client magic|preface/i.test(err.message);
    hooks.refused(preface ? 'bad_h2_preface' : 'h2_protocol_error');
  });
  server.on('session', (session: Http2.Http2Session) => {
    adoptStreamTables(session);
    session.once('close', () => stopQuietTimer(session));
    // Asked of each session, not of the server: Node's server-wide timeout says nothing of a closing session (a
    // client's GOAWAY), so one whose client then vanished with a stream open was held for good.
    const keepAliveMs = live.proxy.keep_alive_ms;
    const pingTimeoutMs = live.config.http2.ping_timeout_ms;
    session.setTimeout(keepAliveMs, () => quiet(session, keepAliveMs, pingTimeoutMs));
    watchIdle(session, keepAliveMs);
  });
  return server;
}

/**
 * A response closes with its stream, as the data plane expects of it, except a HEAD request's whose answer had not
 * ended: Node's compatibility response holds that 'close' until end() (its headRequest check). So a client that reset
 * a HEAD request was not seen to leave: the upstream call went on until it answered or timed out, and the request was
 * in flight all that time, then recorded as the upstream's answer. Ended here as Node's own end() would end it, past
 * the group commit: there is no answer to commit, and the data plane records the client's leaving.
 */
function closeUnansweredHead(h2: typeof Http2, res: Http2.Http2ServerResponse): void {
  const end = h2.Http2ServerResponse.prototype.end as (this: Http2.Http2ServerResponse) => unknown;
  if (!res.writableEnded) end.call(res);
}

/** The SETTINGS a listener's sessions announce; a new value reaches the sessions begun after it (updateSettings). */
export function http2Settings(limits: ListenerConfig['http2']): Http2.Settings {
  return {
    maxConcurrentStreams: limits.max_concurrent_streams,
    maxHeaderListSize: limits.max_header_list_bytes,
    initialWindowSize: limits.initial_window_bytes,
    enablePush: false,
    // WebSocket over HTTP/2 (RFC 8441): a CONNECT with :protocol websocket.
    enableConnectProtocol: true,
  };
}

/**
 * A connection with no stream open is idle however much else it sends. A header block sent a byte at a time never
 * becomes a stream, and each byte put Node's quiet timer back: such a client held its connection for good. So each
 * connection is looked at every `keepAliveMs`, and one that had no stream open at the last look and has opened none
 * since is closed (closeIdle): streams count, not bytes, as in Envoy's idle_timeout.
 */
function watchIdle(session: Http2.Http2Session, keepAliveMs: number): void {
  let idleSince = -1; // the last stream the session had processed, at a look that found none open; -1 otherwise
  const look = setInterval(() => {
    if (session.destroyed) return clearInterval(look);
    const last = session.state.lastProcStreamID ?? -1;
    if (!(openStreams(session) === 0)) idleSince = -1;
    else if (idleSince !== last || last === -1) idleSince = last;
    else {
      clearInterval(look);
      closeIdle(session);
    }
  }, keepAliveMs).unref();
  session.once('close', () => clearInterval(look));
}

/**
 * GOAWAY to a connection with no stream open. Node then ends the session, but not while a client's header block is
 * unfinished (a stream that never started): such a connection is cut a second later.
 */
function closeIdle(session: Http2.Http2Session): void {
  session.close();
  setTimeout(() => session.destroy(), 1000).unref();
}

/**
 * A stream whose response has been sent whole while its request has not (an upstream that answered an upload early,
 * the gateway refusing a body halfway) is closed with NO_ERROR, which tells the client to stop sending (RFC 9113 8.1).
 * Node does that itself only while nothing has read the body; once the gateway had, the stream stayed open and the
 * client waited on flow control for good, holding one of its connection's streams. Asked when the trailers are due,
 * and done a turn later, once they are out: a RST_STREAM before them would cut a gRPC status off.
 */
function closeUnfinished(this: Http2.ServerHttp2Stream): void {
  if (!this.endAfterHeaders && !this.readableEnded) setImmediate(closeIfUnfinished, this);
}

/**
 * A response with no body (204, 304, a HEAD's, an empty one) is its HEADERS frame alone, and asks for no trailers:
 * the same is done once nghttp2 has sent that frame's END_STREAM, which 'finish' comes just before.
 */
function closeEnded(this: Http2.ServerHttp2Stream): void {
  if (!this.endAfterHeaders && !this.readableEnded) setImmediate(closeIfEnded, this);
}

function closeIfEnded(stream: Http2.ServerHttp2Stream): void {
  if (!stream.destroyed && stream.state.localClose === 1) closeIfUnfinished(stream);
}

/**
 * Node ends a closed stream only once its body has been read to the end, and a body whose reader had stopped (an
 * upload whose upstream answered early) was never read further: the stream stayed, and a client that then closed its
 * connection (GOAWAY) left the session waiting for it for good, its socket in CLOSE-WAIT. The stream is destroyed
 * after its RST_STREAM: what is left of the body is dropped, and whoever still reads it learns so from its 'close'.
 */
function closeIfUnfinished(stream: Http2.ServerHttp2Stream): void {
  if (stream.destroyed) return;
  // state asks nghttp2 whether the client's END_STREAM came (a body received whole, not all of it read).
  if (!stream.closed && stream.state.remoteClose !== 1) stream.close();
  stream.destroy();
}

/**
 * Node leaves a closed session's quiet timer running (Node 24.21), and the timer holds the session: every closed
 * connection's session, ~2.8 KB of heap, stayed until keep_alive_ms (65 s) after its last frame, so 1,000 new h2
 * connections a second held 65,000 of them. setTimeout(0) does nothing once a session is destroyed, so the timer is
 * cleared where Node keeps it (a no-op should Node keep it elsewhere one day).
 */
function stopQuietTimer(session: Http2.Http2Session): void {
  clearTimeout(sessionInternal<NodeJS.Timeout>(session, 'timeout'));
}

/**
 * A client connection quiet for proxy.keep_alive_ms. With no stream open it is idle, and closed gracefully (GOAWAY),
 * as an idle HTTP/1.1 keep-alive one is. With streams open it is not (a gRPC stream waiting for its next message,
 * whose client would otherwise get GOAWAY and reconnect after every quiet spell): it is sent a PING, and a client that
 * does not answer within `pingTimeoutMs` is gone (a host down, a network that dropped the flow), so its connection is
 * destroyed, ending its requests as clients that left; their upstream calls are cancelled. Node tells of a quiet
 * session once: the next quiet spell is asked for again, with `quietMs` counted from the last activity. A session
 * closing (a client's GOAWAY, or the gateway's) is asked too: its streams go on, and its client may vanish as well.
 */
function quiet(session: Http2.Http2Session, quietMs: number, pingTimeoutMs: number): void {
  if (session.destroyed) return;
  if (!(openStreams(session) > 0)) return void closeIdle(session);
  session.setTimeout(quietMs, () => quiet(session, quietMs, pingTimeoutMs));
  const timer = setTimeout(() => session.destroy(), pingTimeoutMs).unref();
  const sent = pingSession(session, (answered) => {
    if (answered) clearTimeout(timer);
  });
  if (!sent) clearTimeout(timer);
}

/**
 * Streams open on a session: Node keeps them in a Map on the session's internal state and has no public count. Read
 * when a connection has gone quiet, never per request; NaN if Node keeps them elsewhere one day (the connection is
 * then treated as idle, as before this check).
 */
function openStreams(session: Http2.Http2Session): number {
  return sessionInternal<{ streams?: Map<number, unknown> }>(session, 'state')?.streams?.size ?? Number.NaN;
}
