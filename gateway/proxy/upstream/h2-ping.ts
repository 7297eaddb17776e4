import type { ClientHttp2Session } from 'node:http2';
import { pingSession } from '../net/h2-session.ts';

/** What the PING check reads of an upstream HTTP/2 connection (h2c-dispatcher.ts's Session). */
export interface PingedConnection {
  readonly h2: ClientHttp2Session;
  /** Calls in flight on it. */
  readonly active: number;
}

export interface PingOptions {
  /** Quiet time, with calls in flight, before a PING; and the least time between two PINGs. */
  intervalMs: number;
  /** How long a PING may go unanswered before the connection is given up. */
  timeoutMs: number;
}

/** Least time between two PINGs a timed-out call asks for (PingCheck.probe). */
const PROBE_GAP_MS = 1000;

/**
 * Whether an upstream HTTP/2 connection is still there while calls wait on it. A target that hangs (a stopped or
 * wedged process, whose kernel still acknowledges TCP) or vanishes without a reset (a host gone, a middlebox that
 * dropped the flow) would hold a quiet call until its own timeouts, which a long gRPC stream needs long (total_ms 0,
 * body_idle_ms in hours). So, as gRPC clients' keepalive and Envoy's connection_keepalive do: once a connection
 * with calls in flight has read nothing for `intervalMs`, it is sent a PING, and one that does not answer within
 * `timeoutMs` is destroyed; its calls fail as a lost connection (502, gRPC UNAVAILABLE) and the next calls open a
 * new one. An idle connection is not pinged (pool.keep_alive_ms closes it), and nor is one that reads: servers limit
 * PINGs on a quiet connection (grpc-go and grpc-java: one per 5 minutes by default, else GOAWAY too_many_pings), so
 * two are never less than `intervalMs` apart. Looked at four times an interval: a dead connection is found within
 * 1.25 intervals plus the timeout.
 */
export class PingCheck {
  readonly #conn: PingedConnection;
  readonly #options: PingOptions;
  readonly #timer: NodeJS.Timeout;
  #answer: NodeJS.Timeout | undefined = undefined;
  #seen = 0;
  #quietSinceMs = performance.now();
  #pingedMs = Number.NEGATIVE_INFINITY;

  constructor(conn: PingedConnection, options: PingOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#timer = setInterval(() => this.#check(performance.now()), Math.max(25, options.intervalMs / 4));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#answer);
  }

  #check(nowMs: number): void {
    const conn = this.#conn;
    if (this.#answer !== undefined || conn.h2.destroyed) return;
    // Any frame read counts (a PING's answer, a window update): the target is there.
    const read = conn.h2.socket.bytesRead;
    if (conn.active === 0 || read !== this.#seen) {
      this.#seen = read;
      this.#quietSinceMs = nowMs;
      return;
    }
    const { intervalMs } = this.#options;
    if (nowMs - this.#quietSinceMs < intervalMs || nowMs - this.#pingedMs < intervalMs) return;
    this.#ping(nowMs);
  }

  /**
   * A call on the connection timed out (header_ms, body_idle_ms): is the target still there? A PING at once, as
   * undici does after a stream timeout, or every call would wait out its own timeout on a connection that is gone
   * until the next quiet interval. At most one a second, and none while one waits for its answer.
   */
  probe(): void {
    const nowMs = performance.now();
    if (this.#answer !== undefined || this.#conn.h2.destroyed || nowMs - this.#pingedMs < PROBE_GAP_MS) return;
    this.#ping(nowMs);
  }

  #ping(nowMs: number): void {
    const conn = this.#conn;
    const { timeoutMs } = this.#options;
    this.#pingedMs = nowMs;
    // A connection the target is closing (its GOAWAY) with calls still on it is pinged too: it may hang as well.
    const sent = pingSession(conn.h2, (answered) => {
      clearTimeout(this.#answer);
      this.#answer = undefined;
      if (answered) this.#quietSinceMs = performance.now();
    });
    if (!sent) return;
    this.#answer = setTimeout(() => {
      const error = new Error(`the target did not answer an HTTP/2 PING within ${timeoutMs} ms`);
      conn.h2.destroy(Object.assign(error, { code: 'UND_ERR_SOCKET' }));
    }, timeoutMs);
    this.#answer.unref();
  }
}
