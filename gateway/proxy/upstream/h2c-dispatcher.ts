import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { forwardBody, type InspectedBody } from './forward-body.ts';

type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;

export interface H2cOptions {
  connectTimeoutMs: number;
  /** Streams in flight per connection (the target's own limit, when lower, wins). */
  streams: number;
  connections: number;
  /** A connection with no stream for this long is closed. */
  idleMs: number;
  /** Response body limit; 0 or less: none. */
  maxResponseBytes: number;
  maxHeaderBytes: number;
}

// HTTP/2 error codes (RFC 9113 section 7).
const NO_ERROR = 0x0;
const INTERNAL_ERROR = 0x2;
const CANCEL = 0x8;

/** node:http2, loaded by the first h2c upstream: a gateway without one never loads it (~2 MB, docs/performance.md). */
let http2: typeof import('node:http2') | undefined;
const loadHttp2 = () => (http2 ??= process.getBuiltinModule('node:http2'));

// Node keeps 10 MB of frames per session by default and answers ENHANCE_YOUR_CALM past it under load.
const MAX_SESSION_MEMORY_MB = 64;

interface Session {
  h2: ClientHttp2Session;
  active: number;
  idle: NodeJS.Timeout | undefined;
}

interface Queued {
  opts: Dispatcher.DispatchOptions;
  handler: Handler;
}

/**
 * An h2c (HTTP/2 with prior knowledge, cleartext) upstream's connections, with node:http2's client, behind the
 * part of undici's Dispatcher the exchange uses: `dispatch` with undici's handler callbacks and controller. undici's
 * own HTTP/2 client cost 55 CPU-µs per unary gRPC call where node:http2 cost 41 for the same streamed body
 * (docs/decisions/0009-h2c-upstream-client.md). Each call is a stream on the least busy connection that has
 * room; up to `connections` connections are opened, and calls wait in order when all are full. h2 over TLS stays
 * with undici, which falls back to HTTP/1.1 when a target does not offer h2.
 */
export class H2cDispatcher {
  readonly #origin: string;
  readonly #authority: string;
  readonly #options: H2cOptions;
  readonly #sessions: Session[] = [];
  readonly #queue: Queued[] = [];
  #closed = false;

  constructor(origin: string, options: H2cOptions) {
    this.#origin = origin;
    this.#authority = new URL(origin).host;
    this.#options = options;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#closed) {
      handler.onResponseError?.(undefined as never, Object.assign(new Error('closed'), { code: 'UND_ERR_CLOSED' }));
      return false;
    }
    const session = this.#pick();
    if (session === undefined) this.#queue.push({ opts, handler });
    else this.#start(session, opts, handler);
    return true;
  }

  /** Closes every connection once its streams are done. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { handler } of this.#queue.splice(0))
      handler.onResponseError?.(undefined as never, Object.assign(new Error('closed'), { code: 'UND_ERR_CLOSED' }));
    await Promise.all(
      this.#sessions.map((s) => new Promise<void>((resolve) => (s.h2.closed ? resolve() : s.h2.close(resolve)))),
    );
  }

  /** A connection with room for one more stream, opening one when all are full and the limit allows. */
  #pick(): Session | undefined {
    let best: Session | undefined;
    for (const s of this.#sessions) {
      const limit = Math.min(this.#options.streams, s.h2.remoteSettings.maxConcurrentStreams ?? Infinity);
      if (s.active < limit && (best === undefined || s.active < best.active)) best = s;
    }
    if (best !== undefined || this.#sessions.length >= this.#options.connections) return best;
    return this.#open();
  }

  #open(): Session {
    const h2 = loadHttp2().connect(this.#origin, {
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      settings: { maxHeaderListSize: this.#options.maxHeaderBytes, enablePush: false },
    });
    const session: Session = { h2, active: 0, idle: undefined };
    this.#sessions.push(session);
    const timer = setTimeout(() => {
      h2.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, this.#options.connectTimeoutMs);
    h2.once('connect', () => clearTimeout(timer));
    // Errors reach the streams (their own 'error' or 'close'); the session only has to be forgotten.
    h2.on('error', () => undefined);
    h2.once('close', () => {
      clearTimeout(timer);
      clearTimeout(session.idle);
      this.#forget(session);
      this.#drain();
    });
    // Its streams finish; new calls go to another connection.
    h2.once('goaway', () => this.#forget(session));
    // The gateway's listeners keep the process alive; an upstream connection must not (a stopped gateway exits).
    h2.unref();
    return session;
  }

  #forget(session: Session): void {
    const i = this.#sessions.indexOf(session);
    if (i >= 0) this.#sessions.splice(i, 1);
  }

  #drain(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const session = this.#pick();
      if (session === undefined) return;
      const { opts, handler } = this.#queue.shift()!;
      this.#start(session, opts, handler);
    }
  }

  #start(session: Session, opts: Dispatcher.DispatchOptions, handler: Handler): void {
    const body = opts.body as Readable | InspectedBody | Buffer | null | undefined;
    // The request-headers stage already dropped the hop-by-hop headers HTTP/2 forbids (and set te for gRPC alone).
    const given = (opts.headers ?? {}) as Headers;
    // A flat [name, value, …] list: node:http2 takes it as it is, where an object is first copied into a
    // prototype-less one (a dictionary, slow to read) and its keys listed again.
    const headers = [
      ':method',
      opts.method,
      ':path',
      opts.path,
      ':scheme',
      'http',
      ':authority',
      typeof given.host === 'string' ? given.host : this.#authority,
    ];
    for (const name in given) {
      const value = given[name];
      if (value === undefined || name === 'host') continue;
      if (typeof value === 'string') headers.push(name, value);
      else for (const each of value) headers.push(name, each);
    }
    const hasBody = body !== null && body !== undefined;
    let stream: ClientHttp2Stream;
    try {
      stream = session.h2.request(headers, { endStream: !hasBody });
    } catch (error) {
      handler.onResponseError?.(undefined as never, error as Error);
      return;
    }
    session.active++;
    clearTimeout(session.idle);
    new H2cCall(stream, handler, this.#options.maxResponseBytes, () => this.#release(session)).send(body ?? null);
  }

  #release(session: Session): void {
    session.active--;
    if (session.active === 0 && !session.h2.closed) {
      session.idle = setTimeout(() => session.h2.close(), this.#options.idleMs).unref();
    }
    this.#drain();
  }
}

/**
 * What a closed call answers to. A closed stream can outlive many scavenges: Node keeps a session's streams in a
 * Map, and a Map that churns leaves old tables holding its entries in the old generation until a full GC (as
 * ../net/live-set.ts tells).
 * Letting go of the handler keeps such a stream from holding the whole request (context, exchange, client response):
 * under `ghz -c 50`, survivors per scavenge fell from 2.7 to 1.9 MB and unary calls/s rose ~4.5%
 * (node --trace-gc-nvp; three alternating rounds, gateway and gRPC server on their own CPUs).
 */
const DETACHED: Handler = {};

/** One request on one stream, as undici's controller and handler callbacks. */
class H2cCall implements Dispatcher.DispatchController {
  readonly #stream: ClientHttp2Stream;
  /** The stream's connection (a closed stream no longer names it). */
  readonly #session: ClientHttp2Session;
  #handler: Handler;
  readonly #maxResponseBytes: number;
  readonly #released: () => void;
  #done = false;
  #paused = false;
  #reason: Error | null = null;
  #bytes = 0;
  #trailers: Headers = {};

  constructor(stream: ClientHttp2Stream, handler: Handler, maxResponseBytes: number, released: () => void) {
    this.#stream = stream;
    this.#session = stream.session as ClientHttp2Session;
    this.#handler = handler;
    this.#maxResponseBytes = maxResponseBytes;
    this.#released = released;
  }

  get aborted(): boolean {
    return this.#reason !== null;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#done) return;
    this.#reason = reason;
    this.#fail(reason);
    this.#stream.close(CANCEL);
  }

  pause(): void {
    this.#paused = true;
    this.#stream.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#stream.resume();
  }

  send(body: Readable | InspectedBody | Buffer | null): void {
    const stream = this.#stream;
    stream.once('close', () => {
      this.#released();
      // A stream the target reset (or a connection lost) without an 'error' event.
      if (!this.#done) this.#fail(this.#resetError());
      this.#handler = DETACHED; // nothing comes after 'close'
    });
    stream.on('error', (error: Error) => {
      if (this.#done) return;
      // A stream the session never sent (its connection failed) carries the connection's error as its cause.
      const cause = (error as { cause?: Error }).cause;
      if ((error as NodeJS.ErrnoException).code === 'ERR_HTTP2_STREAM_CANCEL' && cause) this.#fail(cause);
      else this.#fail(this.#lost() ? error : Object.assign(error, { http2ErrorCode: stream.rstCode }));
    });
    stream.on('response', (raw) => this.#onResponse(raw as Headers));
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('trailers', (trailers) => (this.#trailers = withoutPseudo(trailers as Headers)));
    stream.on('end', () => {
      if (this.#done) return;
      // A connection that closed under the stream ends it too, with CANCEL: that response is cut short, not whole.
      const code = stream.rstCode;
      if (code !== undefined && code !== NO_ERROR) return this.#fail(this.#resetError());
      this.#done = true;
      this.#handler.onResponseEnd?.(this, this.#trailers);
    });
    this.#handler.onRequestStart?.(this, {});
    if (this.#done || body === null) return;
    if (Buffer.isBuffer(body)) {
      stream.end(body);
      return;
    }
    forwardBody(body, stream, (error) => this.abort(error));
  }

  #onResponse(raw: Headers): void {
    if (this.#done) return;
    const status = Number(raw[':status']);
    this.#handler.onResponseStart?.(this, status, withoutPseudo(raw), '');
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    this.#bytes += chunk.length;
    if (this.#maxResponseBytes > 0 && this.#bytes > this.#maxResponseBytes) {
      this.abort(Object.assign(new Error('response too large'), { code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' }));
      return;
    }
    this.#handler.onResponseData?.(this, chunk);
  }

  /** The stream's connection is gone (the target closed or broke it), as opposed to the stream alone being reset. */
  #lost(): boolean {
    return this.#session.destroyed || this.#session.closed;
  }

  #resetError(): Error {
    // A connection that broke is lost like an HTTP/1.1 socket (classify.ts); a reset stream keeps its code.
    if (this.#lost()) return Object.assign(new Error('the target closed the connection'), { code: 'UND_ERR_SOCKET' });
    const code = this.#stream.rstCode ?? INTERNAL_ERROR;
    return Object.assign(new Error(`stream reset with code ${code}`), {
      code: 'ERR_HTTP2_STREAM_ERROR',
      http2ErrorCode: code,
    });
  }

  #fail(error: Error): void {
    this.#done = true;
    this.#handler.onResponseError?.(this, error);
  }
}

function withoutPseudo(headers: Headers): Headers {
  const out: Headers = {};
  for (const name in headers) if (name.charCodeAt(0) !== 58 /* : */) out[name] = headers[name];
  return out;
}
