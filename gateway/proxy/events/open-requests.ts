/**
 * Requests still open past events.interim_ms (a gRPC stream, server-sent events, a long download or upload) get
 * interim events, as WebSocket connections and TCP streams do: their traffic lands in the hour it flowed, and the
 * request is still one, counted by its final event. Every recorded request joins the set while it is open, a field
 * of its own keeping its place (an array slot and two writes a request); one timer looks them over each second while
 * any is open. Its cost: ~10 ns a request in a loop of adds and deletes with 50 in flight, and no difference above
 * the noise in two one-worker gateways with and without it at 3,000 req/s each, side by side on one CPU
 * (test/bench/rate-load.ts, main-thread CPU from /proc/PID/task over six 20 s windows).
 */
import type { RequestContext } from '../context.ts';
import { LiveSet } from '../net/live-set.ts';
import type { Runtime } from '../runtime.ts';
import { interimIfDue } from './access-event.ts';

/** How often open requests are looked over: an interim event comes this late at most. */
const SWEEP_MS = 1000;

export class OpenRequests {
  readonly #open = new LiveSet<RequestContext>('openIndex');
  readonly #events: NonNullable<Runtime['events']>;
  /** Runs while requests are open: an idle gateway has no timer for this. */
  #sweeper: NodeJS.Timeout | undefined;

  constructor(events: NonNullable<Runtime['events']>, runtime: Pick<Runtime, 'closers'>) {
    this.#events = events;
    runtime.closers.push(() => this.#stop());
  }

  /** A request that may stay open; a WebSocket handshake is not one: its tunnel sends its interim events. */
  add(ctx: RequestContext): void {
    if (ctx.websocket) return;
    this.#open.add(ctx);
    if (this.#sweeper === undefined) {
      this.#sweeper = setInterval(this.#sweep, SWEEP_MS);
      this.#sweeper.unref();
    }
  }

  delete(ctx: RequestContext): void {
    this.#open.delete(ctx);
  }

  readonly #sweep = (): void => {
    if (this.#open.size === 0) {
      this.#stop();
      return;
    }
    const now = performance.now();
    for (const ctx of this.#open) interimIfDue(ctx, this.#events, now);
  };

  #stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
