import type { Dispatcher } from 'undici';

export interface HttpProbe {
  /** Path with optional query, starting with `/`. */
  path: string;
  /** Host header to send; the target's own host:port when absent. */
  host?: string;
  /** TLS server name (the target's); undici takes the Host's name when absent. */
  servername?: string;
  expectedStatuses: ReadonlySet<number>;
  dispatcher: Dispatcher;
  /** Keep the connection for the next check instead of closing it after this one. */
  reuseConnection?: boolean;
}

/** Largest health response body read before the connection is dropped. */
const MAX_BODY_BYTES = 64 * 1024;

type Controller = Dispatcher.DispatchController;

/**
 * GETs `origin + path`; resolves true when the status is expected, false
 * otherwise, and rejects on connection errors and when `signal` aborts. The
 * active checker uses it for `reuse_connection` checks, which need the body
 * framed to keep the connection; a check on a new connection each time goes
 * through probeHttpFresh (fresh-http-probe.ts).
 *
 * A raw dispatch handler, as the proxy's own exchange is, rather than
 * `dispatcher.request()`: a check runs a few times a second, too seldom for
 * V8 to optimise the code it runs, so every layer costs in full, and
 * `request()` adds a promise, a body stream to dump and its own abort
 * listener to each one.
 */
export function probeHttp(origin: string, probe: HttpProbe, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const handler = new ProbeHandler(probe.expectedStatuses, signal, resolve, reject);
    if (handler.settled) return;
    probe.dispatcher.dispatch(
      {
        origin,
        path: probe.path,
        method: 'GET',
        headers: probe.host === undefined ? undefined : { host: probe.host },
        servername: probe.servername,
        // Without reuse the connection closes after this check (as a fresh-connection check's does).
        reset: probe.reuseConnection !== true,
      } as Dispatcher.DispatchOptions,
      handler,
    );
  });
}

class ProbeHandler implements Dispatcher.DispatchHandler {
  settled = false;
  readonly #expected: ReadonlySet<number>;
  readonly #signal: AbortSignal;
  readonly #resolve: (ok: boolean) => void;
  readonly #reject: (err: unknown) => void;
  #controller: Controller | undefined = undefined;
  #status = 0;
  #bytes = 0;

  constructor(
    expected: ReadonlySet<number>,
    signal: AbortSignal,
    resolve: (ok: boolean) => void,
    reject: (err: unknown) => void,
  ) {
    this.#expected = expected;
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
    if (signal.aborted) this.#settle(false, signal.reason);
    else signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => {
    const reason = this.#signal.reason as Error;
    this.#settle(false, reason);
    // A check still queued has no controller yet; onRequestStart aborts it.
    this.#controller?.abort(reason);
  };

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.settled) controller.abort(this.#signal.reason as Error);
  }

  onResponseStart(_controller: Controller, statusCode: number): void {
    if (statusCode >= 200) this.#status = statusCode;
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes <= MAX_BODY_BYTES) return;
    // The status has decided; the rest of a large body is not read.
    this.#settle(this.#expected.has(this.#status));
    controller.abort(new Error('health check response body over 64 KB'));
  }

  onResponseEnd(): void {
    this.#settle(this.#expected.has(this.#status));
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.#settle(false, err);
  }

  #settle(ok: boolean, err?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    if (err !== undefined) this.#reject(err);
    else this.#resolve(ok);
  }
}
