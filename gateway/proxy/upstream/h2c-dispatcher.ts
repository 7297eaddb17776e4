import type { ClientHttp2Session, ClientHttp2Stream, ClientSessionOptions } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { InspectedBody } from './forward-body.ts';
import { H2cCall } from './h2c-call.ts';
import { PingCheck, type PingOptions } from './h2-ping.ts';
import { adoptStreamTables } from '../net/h2-stream-table.ts';

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
  /** PINGs to a connection that has gone quiet with calls in flight (h2-ping.ts); undefined: none. */
  ping: PingOptions | undefined;
}

/** node:http2, loaded by the first h2c upstream: a gateway without one never loads it (~2 MB, docs/performance.md). */
let http2: typeof import('node:http2') | undefined;
const loadHttp2 = () => (http2 ??= process.getBuiltinModule('node:http2'));

// Node keeps 10 MB of frames per session by default and answers ENHANCE_YOUR_CALM past it under load.
const MAX_SESSION_MEMORY_MB = 64;

interface Session {
  h2: ClientHttp2Session;
  /** The target's SETTINGS arrived: its stream limit (maxConcurrentStreams) is known. */
  settled: boolean;
  active: number;
  idle: NodeJS.Timeout | undefined;
  ping: PingCheck | undefined;
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
    this.#failQueue(Object.assign(new Error('closed'), { code: 'UND_ERR_CLOSED' }));
    await Promise.all(
      this.#sessions.map((s) => new Promise<void>((resolve) => (s.h2.closed ? resolve() : s.h2.close(resolve)))),
    );
  }

  /**
   * A connection with room for one more stream, opening one when all are full and the limit allows. A new connection
   * takes one stream until the target's SETTINGS tell its limit, and the calls after it wait for them rather than open
   * more connections: a burst sent before then went past a target's low limit (a gRPC server's max_concurrent_streams),
   * and the streams over it were refused. A connection that never gets there fails the calls waiting (#open).
   */
  #pick(): Session | undefined {
    let best: Session | undefined;
    let settling = false;
    for (const s of this.#sessions) {
      if (!s.settled) settling = true;
      // Destroyed (an error, a PING unanswered) and not yet told by its 'close' event: no more streams.
      if (s.h2.destroyed) continue;
      const remote = s.settled ? (s.h2.remoteSettings.maxConcurrentStreams ?? Infinity) : 1;
      const limit = Math.min(this.#options.streams, remote);
      if (s.active < limit && (best === undefined || s.active < best.active)) best = s;
    }
    if (best !== undefined || settling || this.#sessions.length >= this.#options.connections) return best;
    return this.#open();
  }

  #open(): Session {
    const h2 = loadHttp2().connect(this.#origin, {
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      settings: { maxHeaderListSize: this.#options.maxHeaderBytes, enablePush: false },
      // A field on two lines (a route's request_headers `add` of one the client sent) goes as to an HTTP/1.1 target;
      // Node's default refuses a request with two of a field it calls single-value (User-Agent, Content-Type): a 502.
      strictSingleValueFields: false,
    } as ClientSessionOptions);
    adoptStreamTables(h2);
    const session: Session = { h2, settled: false, active: 0, idle: undefined, ping: undefined };
    if (this.#options.ping !== undefined) session.ping = new PingCheck(session, this.#options.ping);
    this.#sessions.push(session);
    // Connected once the target speaks HTTP/2 (its SETTINGS): a port that accepts and says nothing, or something
    // else, fails as a connect that timed out.
    const timer = setTimeout(() => {
      h2.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, this.#options.connectTimeoutMs);
    // The target's limit is known (at first, or changed): the calls waiting for room may go.
    h2.on('remoteSettings', () => {
      clearTimeout(timer);
      session.settled = true;
      this.#drain();
    });
    // Errors reach the streams (their own 'error' or 'close'); the session only has to be forgotten.
    let failure: Error | undefined;
    h2.on('error', (error: Error) => (failure ??= error));
    h2.once('close', () => {
      clearTimeout(timer);
      clearTimeout(session.idle);
      session.ping?.stop();
      this.#forget(session);
      // Never became HTTP/2 (refused, timed out, not an HTTP/2 server): the calls waiting for it fail as the one it
      // carried did, at once, rather than each waiting in turn on a connection of its own.
      if (!session.settled && this.#sessions.every((other) => other.h2.destroyed))
        this.#failQueue(
          failure ?? Object.assign(new Error('the target closed the connection'), { code: 'UND_ERR_SOCKET' }),
        );
      this.#drain();
    });
    // Its streams finish; new calls go to another connection.
    h2.once('goaway', () => this.#forget(session));
    // The gateway's listeners keep the process alive; an upstream connection must not (a stopped gateway exits).
    h2.unref();
    return session;
  }

  #failQueue(error: Error): void {
    for (const { handler } of this.#queue.splice(0)) handler.onResponseError?.(undefined as never, error);
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
    const release = () => this.#release(session);
    new H2cCall(stream, handler, this.#options.maxResponseBytes, release, session.ping).send(body ?? null);
  }

  #release(session: Session): void {
    session.active--;
    if (session.active === 0 && !session.h2.closed) {
      session.idle = setTimeout(() => session.h2.close(), this.#options.idleMs).unref();
    }
    this.#drain();
  }
}
