/**
 * The requests in flight, looked over each second while any is open. One that stays open past events.interim_ms (a
 * gRPC stream, server-sent events, a long download or upload) gets interim events, as WebSocket connections and TCP
 * streams do: its traffic lands in the hour it flowed, and the request is still one, counted by its final event. One
 * whose app has been disabled or deleted since it was let in is ended (403 GW_ERR_APP_DISABLED, PERMISSION_DENIED
 * for a gRPC call, or cut when its answer had begun), as that app's WebSocket connections are closed: the identity
 * changes without a reload, and a tenant cut off is cut off from its streams too. So is one its app's narrowed
 * rights (roles, allowed addresses) would refuse now (403 GW_ERR_FORBIDDEN, PERMISSION_DENIED), and one let in by an
 * API key whose secret has been rotated out since (401 GW_ERR_API_KEY_INVALID, UNAUTHENTICATED), and, under
 * auth.end_at_token_expiry, one whose token has expired (401 GW_ERR_TOKEN_EXPIRED, UNAUTHENTICATED).
 *
 * Every request joins the set while it is open, a field of its own keeping its place (an array slot and two writes a
 * request); one timer looks them over each second while any is open. Its cost: ~10 ns a request in a loop of adds
 * and deletes with 50 in flight, and no difference above the noise in two one-worker gateways with and without it at
 * 3,000 req/s each, side by side on one CPU (test/bench/rate-load.ts, main-thread CPU from /proc/PID/task over six
 * 20 s windows).
 */
import type { RequestContext } from '../context.ts';
import { type ErrorCode, GatewayError } from '../../errors.ts';
import { LiveSet } from '../net/live-set.ts';
import type { Runtime } from '../runtime.ts';
import { interimIfDue } from './access-event.ts';

/** How often open requests are looked over: an interim event comes this late at most, an app's end this late. */
const SWEEP_MS = 1000;

/**
 * What a request's exchange is aborted with once what let it in no longer holds (RequestContext.withdrawn), and the
 * answer it gets when none had begun (stages/proxy/exchange.ts; a gRPC call gets the status the code maps to).
 */
const WITHDRAWN = {
  app: { code: 'TOLLGATE_APP_DISABLED', reply: 'GW_ERR_APP_DISABLED', why: 'the app was disabled' },
  forbidden: { code: 'TOLLGATE_FORBIDDEN_NOW', reply: 'GW_ERR_FORBIDDEN', why: "the app's rights no longer cover it" },
  credential: {
    code: 'TOLLGATE_CREDENTIAL_WITHDRAWN',
    reply: 'GW_ERR_API_KEY_INVALID',
    why: 'the key was rotated out',
  },
  expired: { code: 'TOLLGATE_TOKEN_EXPIRED', reply: 'GW_ERR_TOKEN_EXPIRED', why: 'the token expired' },
} as const satisfies Record<string, { code: string; reply: ErrorCode; why: string }>;

export const WITHDRAWN_REPLIES = new Map<string, ErrorCode>(Object.values(WITHDRAWN).map((w) => [w.code, w.reply]));

export class OpenRequests {
  readonly #open = new LiveSet<RequestContext>('openIndex');
  readonly #runtime: Pick<Runtime, 'events' | 'identity'>;
  /** The identity version the last sweep saw: apps are looked up again only when it changed. */
  #identityVersion: number;
  /** Runs while requests are open: an idle gateway has no timer for this. */
  #sweeper: NodeJS.Timeout | undefined;

  constructor(runtime: Pick<Runtime, 'closers' | 'events' | 'identity'>) {
    this.#runtime = runtime;
    this.#identityVersion = runtime.identity.version;
    runtime.closers.push(() => this.#stop());
  }

  /** A request that may stay open; a WebSocket handshake is not one: its tunnel looks after its connection. */
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
    const { events, identity } = this.#runtime;
    const appsChanged = identity.version !== this.#identityVersion;
    this.#identityVersion = identity.version;
    const now = performance.now();
    const nowMs = Date.now();
    for (const ctx of this.#open) {
      const withdrawn = ctx.withdrawn(appsChanged, nowMs);
      if (withdrawn !== undefined)
        ctx.exchange?.abort(new GatewayError(WITHDRAWN[withdrawn].code, WITHDRAWN[withdrawn].why));
      else if (events !== undefined && ctx.recorded) interimIfDue(ctx, events, now);
    }
  };

  #stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
