import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { forwardBody, type InspectedBody } from './forward-body.ts';
import type { PingCheck } from './h2-ping.ts';

type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;

// HTTP/2 error codes (RFC 9113 section 7).
const NO_ERROR = 0x0;
const INTERNAL_ERROR = 0x2;
const CANCEL = 0x8;
const REFUSED_STREAM = 0x7;

/**
 * What a closed call answers to. A closed stream can outlive many scavenges: Node keeps a session's streams in a
 * Map, and a Map that churns leaves old tables holding its entries in the old generation until a full GC (as
 * ../net/live-set.ts tells).
 * Letting go of the handler keeps such a stream from holding the whole request (context, exchange, client response):
 * under `ghz -c 50`, survivors per scavenge fell from 2.7 to 1.9 MB and unary calls/s rose ~4.5%
 * (node --trace-gc-nvp; three alternating rounds, gateway and gRPC server on their own CPUs).
 */
const DETACHED: Handler = {};

/** What the exchange aborts a call with when the target kept it waiting (stages/proxy/exchange.ts). */
const TIMEOUTS: ReadonlySet<string> = new Set(['TOLLGATE_HEADERS_TIMEOUT', 'TOLLGATE_BODY_IDLE_TIMEOUT']);

/** One request on one stream, as undici's controller and handler callbacks. */
export class H2cCall implements Dispatcher.DispatchController {
  readonly #stream: ClientHttp2Stream;
  /** The stream's connection (a closed stream no longer names it). */
  readonly #session: ClientHttp2Session;
  #handler: Handler;
  readonly #maxResponseBytes: number;
  readonly #released: () => void;
  /** The connection's PING check, asked for a PING when the exchange gives up waiting (header_ms, body_idle_ms). */
  readonly #ping: PingCheck | undefined;
  #done = false;
  #paused = false;
  #reason: Error | null = null;
  #bytes = 0;
  #trailers: Headers = {};

  constructor(
    stream: ClientHttp2Stream,
    handler: Handler,
    maxResponseBytes: number,
    released: () => void,
    ping: PingCheck | undefined,
  ) {
    this.#stream = stream;
    this.#session = stream.session as ClientHttp2Session;
    this.#handler = handler;
    this.#maxResponseBytes = maxResponseBytes;
    this.#released = released;
    this.#ping = ping;
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
    // A response that came whole before the request's body went (the target answered early, and did not reset the
    // stream): the rest of the body goes nowhere now, and the stream is let go, or it held its connection for good.
    if (this.#done) return void this.#stream.close(CANCEL);
    this.#reason = reason;
    this.#fail(reason);
    this.#stream.close(CANCEL);
    if (TIMEOUTS.has((reason as NodeJS.ErrnoException).code ?? '')) this.#ping?.probe();
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
      try {
        this.#handler.onResponseEnd?.(this, this.#trailers);
      } catch (error) {
        this.#handler.onResponseError?.(this, error as Error);
      }
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
    // A handler that throws (a head the client's protocol cannot carry, such as status 600 to an HTTP/2 client) fails
    // the call, as it does through undici: thrown from this event, it took the process down.
    try {
      this.#handler.onResponseStart?.(this, status, withoutPseudo(raw), '');
    } catch (error) {
      this.abort(error as Error);
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    this.#bytes += chunk.length;
    if (this.#maxResponseBytes > 0 && this.#bytes > this.#maxResponseBytes) {
      this.abort(Object.assign(new Error('response too large'), { code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' }));
      return;
    }
    try {
      this.#handler.onResponseData?.(this, chunk);
    } catch (error) {
      this.abort(error as Error);
    }
  }

  /**
   * The stream's connection is gone (the target closed or broke it), as opposed to the stream alone being reset. A
   * stream refused after the target's GOAWAY, which closes the connection, is refused all the same: nothing of it was
   * processed, and it may go again (classify.ts).
   */
  #lost(): boolean {
    return (this.#session.destroyed || this.#session.closed) && this.#stream.rstCode !== REFUSED_STREAM;
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
