import type { RequestContext } from '../../context.ts';
import { isBillable } from '../../../../shared/billable.ts';
import { KEY_APP, KEY_CLIENT_IP, type CompiledPolicy } from './compile.ts';
import { clientKey } from '../../net/ip.ts';
import { ALLOWED, ERROR_CLOSED, ERROR_OPEN, LIMITED, QUOTA_EXCEEDED } from './policy-state.ts';
import { wallClock } from '../../../../shared/wall-clock.ts';

type Done = (ctx: RequestContext, status: number) => void;

/**
 * The rate-limit stage of one route: its policies in order, each a QPS token
 * bucket and/or a QPD quota. Local policies run synchronously; a route with a
 * Redis policy waits for Redis (bounded by rate_limit.timeout_ms).
 *
 * QPD reserves a unit before the request is proxied and refunds it when the
 * response turns out not to be billable (shared/billable.ts), so the quota
 * is exact under concurrency. Which reservations went to the in-process
 * insurance (Redis down) is the one per-request fact the refund needs; it is
 * encoded in which of the route's done functions ctx.onDone points at (one
 * per mask, made once), so nothing is allocated per request.
 */
export class RouteLimiter {
  readonly policies: CompiledPolicy[];
  readonly hasQuota: boolean;
  private readonly doneFns: Done[] = [];
  // Numbers for the policy being checked (the app record may override them); read before any await.
  private qps = 0;
  private burst = 0;
  private qpd = 0;

  constructor(policies: CompiledPolicy[]) {
    this.policies = policies;
    this.hasQuota = policies.some((p) => p.qpd > 0 || p.appNumbers);
  }

  /** All policies local: no I/O, no tick. */
  readonly checkLocal = (ctx: RequestContext): false | undefined => {
    const now = ctx.startMs;
    const policies = this.policies;
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i];
      this.numbers(p, ctx);
      const key = keyOf(p, ctx);
      if (this.qps > 0) {
        const r = p.state.buckets.take(key, now, this.qps, this.burst);
        if (r < 0) return this.refuse(ctx, i, 0, LIMITED, this.burst, -r);
      }
      if (this.qpd > 0) {
        const wall = wallClock.at(now);
        if (p.state.quotas.reserve(key, p.days.startOf(wall), this.qpd) < 0)
          return this.refuse(ctx, i, 0, QUOTA_EXCEEDED, this.qpd, p.days.endOf(wall) - wall);
      }
      p.state.decisions[ALLOWED]++;
    }
    if (this.hasQuota) ctx.onDone = this.doneFor(0);
    return undefined;
  };

  /** At least one Redis policy. */
  readonly checkShared = async (ctx: RequestContext): Promise<false | undefined> => {
    const now = ctx.startMs;
    const wall = wallClock.at(now);
    const policies = this.policies;
    let mask = 0;
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i];
      this.numbers(p, ctx);
      const { qps, burst, qpd } = this;
      const key = keyOf(p, ctx);
      const redis = p.redis;
      let failed = false;
      if (qps > 0) {
        let r = redis ? await redis.take(p.redisPrefix + key, qps, burst) : p.state.buckets.take(key, now, qps, burst);
        if (r === undefined) {
          if (!p.failOpen) return this.refuse(ctx, i, mask, ERROR_CLOSED, burst, 1000);
          failed = true;
          r = p.state.buckets.take(key, now, qps * p.insurance, Math.max(1, Math.floor(burst * p.insurance)));
        }
        if (r < 0) return this.refuse(ctx, i, mask, LIMITED, burst, -r);
      }
      if (qpd > 0) {
        const day = p.days.startOf(wall);
        let r = redis
          ? await redis.reserve(`${p.redisPrefix}${key}:${day}`, qpd)
          : p.state.quotas.reserve(key, day, qpd);
        if (r === undefined) {
          if (!p.failOpen) return this.refuse(ctx, i, mask, ERROR_CLOSED, qpd, 1000);
          failed = true;
          mask |= 1 << i;
          r = p.state.quotas.reserve(key, day, Math.max(1, Math.floor(qpd * p.insurance)));
        }
        if (r < 0) return this.refuse(ctx, i, mask, QUOTA_EXCEEDED, qpd, p.days.endOf(wall) - wall);
      }
      p.state.decisions[failed ? ERROR_OPEN : ALLOWED]++;
    }
    if (this.hasQuota) ctx.onDone = this.doneFor(mask);
    return undefined;
  };

  /** Counts, gives back the quota units policies before `upto` reserved, and answers 429 (or 503 when Redis failed
   * closed). */
  private refuse(
    ctx: RequestContext,
    upto: number,
    mask: number,
    result: number,
    limit: number,
    waitMs: number,
  ): false {
    this.policies[upto].state.decisions[result]++;
    this.refund(ctx, upto, mask);
    const seconds = String(Math.max(1, Math.ceil(waitMs / 1000)));
    if (result === ERROR_CLOSED) return ctx.reply('GW_ERR_RATE_LIMIT_UNAVAILABLE', { 'retry-after': seconds });
    return ctx.reply(result === QUOTA_EXCEEDED ? 'GW_ERR_QUOTA_EXCEEDED' : 'GW_ERR_RATE_LIMITED', {
      'retry-after': seconds,
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': '0',
      'ratelimit-reset': seconds,
    });
  }

  /** The policy's numbers for this request: key app takes the app record's own numbers over the policy's. */
  private numbers(p: CompiledPolicy, ctx: RequestContext): void {
    const app = p.appNumbers ? ctx.app : undefined;
    if (app !== undefined && app.qps !== undefined) {
      this.qps = app.qps;
      this.burst = Math.max(app.qps, app.burst ?? app.qps);
    } else {
      this.qps = p.qps;
      this.burst = p.burst;
    }
    this.qpd = app !== undefined && app.qpd !== undefined ? app.qpd : p.qpd;
  }

  /** Gives back the QPD units that policies [0, upto) reserved for this request. */
  private refund(ctx: RequestContext, upto: number, mask: number): void {
    const wall = wallClock.at(ctx.startMs);
    for (let i = 0; i < upto; i++) {
      const p = this.policies[i];
      this.numbers(p, ctx);
      if (this.qpd <= 0) continue;
      const key = keyOf(p, ctx);
      const day = p.days.startOf(wall);
      if (p.redis !== undefined && (mask & (1 << i)) === 0) p.redis.refund(`${p.redisPrefix}${key}:${day}`);
      else p.state.quotas.refund(key, day);
    }
  }

  private doneFor(mask: number): Done {
    let fn = this.doneFns[mask];
    if (fn === undefined) {
      fn = (ctx, status) => {
        // The same error class the access event records, so the quota and the bill agree.
        if (!isBillable({ errorClass: ctx.errorClass(status), upstreamStatus: ctx.upstreamStatus, status }))
          this.refund(ctx, this.policies.length, mask);
      };
      this.doneFns[mask] = fn;
    }
    return fn;
  }
}

function keyOf(p: CompiledPolicy, ctx: RequestContext): string {
  if (p.keyKind === KEY_CLIENT_IP) return clientKey(ctx.clientIp, p.ipv6Prefix);
  return p.keyKind === KEY_APP ? ctx.appId : p.fixedKey;
}
