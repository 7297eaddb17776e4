import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { stateOf, type Runtime } from '../../runtime.ts';
import type { RateLimitStore } from './schema.ts';

/**
 * A token bucket in Redis, run atomically by rate-limiter-flexible in place
 * of its fixed-window script. The library passes (points to take, ttl s,
 * limiter points, limiter duration s); the limiter is built with points =
 * burst and duration = burst / qps, so the refill rate travels with the call
 * and one script serves every policy. Redis's own clock makes every node see
 * the same refill. Returns {consumed, ms}: consumed > burst means refused
 * (the library's rule) and ms is then the wait for a token.
 */
const TOKEN_BUCKET_LUA = `
local burst = tonumber(ARGV[3])
local want = tonumber(ARGV[1])
local rate = burst / tonumber(ARGV[4]) / 1000000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tokens = burst
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, ' ', 1, true)
  tokens = math.min(burst, tonumber(string.sub(v, 1, sep - 1)) + (now - tonumber(string.sub(v, sep + 1))) * rate)
end
if tokens < want then
  return {burst + want, math.ceil((want - tokens) / rate / 1000)}
end
tokens = tokens - want
redis.call('SET', KEYS[1], string.format('%.6f %d', tokens, now), 'PX', math.ceil((burst - tokens) / rate / 1000) + 1000)
return {burst - math.floor(tokens), math.ceil((1 - (tokens % 1)) / rate / 1000)}
`;

/**
 * ioredis and rate-limiter-flexible are loaded the first time a `backend: redis`
 * policy is compiled, so a gateway without one does not carry them in memory.
 * Both are CommonJS, and snapshots compile synchronously: hence require.
 */
let libs: { Redis: typeof import('ioredis').Redis; RateLimiterRedis: typeof import('rate-limiter-flexible').RateLimiterRedis; RateLimiterRes: typeof import('rate-limiter-flexible').RateLimiterRes } | undefined;
function loadLibs(): NonNullable<typeof libs> {
  if (!libs) {
    const require = createRequire(import.meta.url);
    const { Redis } = require('ioredis') as typeof import('ioredis');
    const { RateLimiterRedis, RateLimiterRes } = require('rate-limiter-flexible') as typeof import('rate-limiter-flexible');
    libs = { Redis, RateLimiterRedis, RateLimiterRes };
  }
  return libs;
}

/** Quota counters outlive their day by this much (they are keyed by day, so this is only garbage collection). */
const QUOTA_TTL_S = 2 * 86_400 + 3_600;

/** Outcome of one shared check: >= 0 allowed (units left), < 0 refused (minus ms to wait), undefined = Redis failed. */
export type SharedResult = number | undefined;

/**
 * The Redis side of `backend: redis` policies: one pair of connections per
 * (url, prefix, timeout) for the life of the runtime (closed with it). Two
 * connections because rate-limiter-flexible defines its script as one
 * command name per client, and quotas keep the library's stock counter.
 * Offline queue off and a command timeout: an unreachable Redis fails a
 * call within `timeout_ms`, it never makes a request wait longer.
 */
export class RedisLimits {
  readonly url: string;
  private readonly buckets: Redis;
  private readonly quotas: Redis;
  private readonly bucketLimiters = new Map<string, RateLimiterRedis>();
  private readonly quotaLimiter: RateLimiterRedis;
  private readonly prefix: string;
  up = false;

  constructor(store: RateLimitStore, runtime: Runtime) {
    this.url = store.redis_url;
    this.prefix = store.prefix;
    const options = {
      commandTimeout: store.timeout_ms,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Come back quickly after an outage: requests use the fallback meanwhile.
      retryStrategy: (times: number) => Math.min(times * 50, 500),
      connectionName: 'tollgate-rate-limit',
      // Concurrent checks share one write and one read per event-loop tick instead of a syscall pair each.
      enableAutoPipelining: true,
    };
    const { Redis } = loadLibs();
    this.buckets = new Redis(store.redis_url, options);
    this.quotas = new Redis(store.redis_url, options);
    for (const client of [this.buckets, this.quotas]) {
      // Without a listener ioredis prints every reconnect failure to stderr.
      client.on('error', (err: Error) => {
        if (this.up) runtime.log.warn({ err: err.message, url: this.url }, 'rate-limit redis unreachable; policies follow on_redis_error');
        this.up = false;
      });
      client.on('ready', () => {
        if (!this.up) runtime.log.info({ url: this.url }, 'rate-limit redis connected');
        this.up = true;
      });
    }
    this.quotaLimiter = new (loadLibs().RateLimiterRedis)({
      storeClient: this.quotas, points: Number.MAX_SAFE_INTEGER, duration: QUOTA_TTL_S, keyPrefix: `${this.prefix}qpd`, rejectIfRedisNotReady: true,
    });
    runtime.closers.push(() => { this.buckets.disconnect(); this.quotas.disconnect(); });
  }

  /** Takes a token from the shared bucket `key`. */
  async take(key: string, qps: number, burst: number): Promise<SharedResult> {
    const id = `${burst}/${qps}`;
    let limiter = this.bucketLimiters.get(id);
    if (limiter === undefined) {
      // One limiter per distinct (burst, qps): bounded by the policies and app records that exist.
      if (this.bucketLimiters.size >= 10_000) this.bucketLimiters.clear();
      limiter = new (loadLibs().RateLimiterRedis)({
        storeClient: this.buckets, points: burst, duration: burst / qps, keyPrefix: `${this.prefix}qps`,
        customIncrTtlLuaScript: TOKEN_BUCKET_LUA, rejectIfRedisNotReady: true,
      });
      this.bucketLimiters.set(id, limiter);
    }
    try {
      return (await limiter.consume(key, 1)).remainingPoints;
    } catch (res) {
      return res instanceof loadLibs().RateLimiterRes ? -Math.max(1, res.msBeforeNext) : undefined;
    }
  }

  /** Reserves one unit of the shared daily quota `key` (the day is part of the key). */
  async reserve(key: string, limit: number): Promise<SharedResult> {
    let used: number;
    try {
      used = (await this.quotaLimiter.consume(key, 1)).consumedPoints;
    } catch {
      return undefined;
    }
    if (used <= limit) return limit - used;
    // Over: give the unit back so the counter stays "billable + in flight".
    this.refund(key);
    return -1;
  }

  /** Gives back a reserved unit; a failure is only logged by the client (the quota errs towards refusing). */
  refund(key: string): void {
    this.quotaLimiter.reward(key, 1).catch(() => {});
  }
}

/** The runtime's connection for `store`, made on first use. */
export function redisLimitsFor(runtime: Runtime, store: RateLimitStore): RedisLimits {
  return stateOf(runtime, `rate-limit:redis:${store.redis_url}\0${store.prefix}\0${store.timeout_ms}`, () => new RedisLimits(store, runtime));
}
