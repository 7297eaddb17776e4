import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { Socket } from 'node:net';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { stateOf, type Runtime } from '../../runtime.ts';
import type { RateLimitStore } from './schema.ts';

/**
 * A token bucket in Redis, run atomically with Redis's own clock, so every
 * node sees the same refill. It keeps the argument layout of
 * rate-limiter-flexible's script slot, where it first ran (points to take,
 * ttl s, burst, burst / qps s), so the script and its keys are unchanged.
 * Returns {consumed, ms}: consumed > burst means refused and ms is then the
 * wait for a token; otherwise burst - consumed whole tokens are left.
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
local ttl = math.ceil((burst - tokens) / rate / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f %d', tokens, now), 'PX', ttl)
return {burst - math.floor(tokens), math.ceil((1 - (tokens % 1)) / rate / 1000)}
`;

/**
 * ioredis and rate-limiter-flexible are loaded the first time a `backend: redis`
 * policy is compiled, so a gateway without one does not carry them in memory.
 * Both are CommonJS, and snapshots compile synchronously: hence require.
 */
let libs:
  | { Redis: typeof import('ioredis').Redis; RateLimiterRedis: typeof import('rate-limiter-flexible').RateLimiterRedis }
  | undefined;
function loadLibs(): NonNullable<typeof libs> {
  if (!libs) {
    const require = createRequire(import.meta.url);
    const { Redis } = require('ioredis') as typeof import('ioredis');
    const { RateLimiterRedis } = require('rate-limiter-flexible') as typeof import('rate-limiter-flexible');
    libs = { Redis, RateLimiterRedis };
  }
  return libs;
}

/** Quota counters outlive their day by this much (they are keyed by day, so this is only garbage collection). */
const QUOTA_TTL_S = 2 * 86_400 + 3_600;

/** Outcome of one shared check: >= 0 allowed (units left), < 0 refused (minus ms to wait), undefined = Redis failed. */
export type SharedResult = number | undefined;

/** The client with the bucket script defined on it (ioredis: EVALSHA, EVAL once per connection and after a NOSCRIPT).
 * */
type BucketClient = Redis & {
  tollgateTokenBucket(
    key: string,
    take: number,
    ttlS: number,
    burst: number,
    durationS: number,
  ): Promise<[number, number]>;
};

function allowedOrWait(reply: [number, number], burst: number): number {
  return reply[0] > burst ? -Math.max(1, reply[1]) : Math.max(burst - reply[0], 0);
}
const failed = (): undefined => undefined;

/**
 * The Redis side of `backend: redis` policies: one connection per (url,
 * prefix, timeout) for the life of the runtime (closed with it). Offline
 * queue off and a command timeout: an unreachable Redis fails a call within
 * `timeout_ms`, it never makes a request wait longer.
 *
 * Cost (profiled, see docs/security.md, Rate limits): at gateway load few checks are in flight at
 * once, and what a check cost was per-command machinery, not Redis: the
 * library's consume chain (4 promises and a result object around one script
 * call) and ioredis auto-pipelining (a Pipeline object, its promises and a
 * setImmediate per batch, even a batch of one). So the QPS bucket calls its
 * script through ioredis directly, and instead of auto-pipelining the socket
 * is corked on a tick's first command and uncorked in setImmediate: every
 * command of that event-loop turn (buckets, quotas, refunds) goes out in one
 * write, with no per-batch objects. QPD keeps rate-limiter-flexible's stock
 * counter (consume / reward), which is already one script call.
 */
export class RedisLimits {
  readonly url: string;
  private readonly client: BucketClient;
  private readonly quotaLimiter: RateLimiterRedis;
  private readonly bucketPrefix: string;
  /** The socket corked for this turn of the event loop, if any. */
  private corked: Socket | undefined;
  private readonly uncork = (): void => {
    const s = this.corked;
    this.corked = undefined;
    s?.uncork();
  };
  up = false;

  constructor(store: RateLimitStore, runtime: Runtime) {
    this.url = store.redis_url;
    this.bucketPrefix = `${store.prefix}qps:`;
    const { Redis, RateLimiterRedis } = loadLibs();
    const client = new Redis(store.redis_url, {
      commandTimeout: store.timeout_ms,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Come back quickly after an outage: requests use the fallback meanwhile.
      retryStrategy: (times: number) => Math.min(times * 50, 500),
      connectionName: 'tollgate-rate-limit',
    }) as BucketClient;
    client.defineCommand('tollgateTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
    // Without a listener ioredis prints every reconnect failure to stderr.
    client.on('error', (err: Error) => {
      if (this.up)
        runtime.log.warn(
          { err: err.message, url: this.url },
          'rate-limit redis unreachable; policies follow on_redis_error',
        );
      this.up = false;
    });
    client.on('ready', () => {
      if (!this.up) runtime.log.info({ url: this.url }, 'rate-limit redis connected');
      this.up = true;
    });
    this.client = client;
    this.quotaLimiter = new RateLimiterRedis({
      storeClient: client,
      points: Number.MAX_SAFE_INTEGER,
      duration: QUOTA_TTL_S,
      keyPrefix: `${store.prefix}qpd`,
      rejectIfRedisNotReady: true,
    });
    runtime.closers.push(() => {
      client.disconnect();
    });
  }

  /** Takes a token from the shared bucket `key` (burst >= qps, so burst / qps >= 1 s, the ttl argument). */
  take(key: string, qps: number, burst: number): Promise<SharedResult> {
    // The library's rejectIfRedisNotReady: no command while (re)connecting.
    if (this.client.status !== 'ready') return Promise.resolve(undefined);
    this.cork();
    const durationS = burst / qps;
    return this.client
      .tollgateTokenBucket(this.bucketPrefix + key, 1, Math.floor(durationS), burst, durationS)
      .then((reply) => allowedOrWait(reply, burst), failed);
  }

  /** Reserves one unit of the shared daily quota `key` (the day is part of the key). */
  async reserve(key: string, limit: number): Promise<SharedResult> {
    let used: number;
    try {
      this.cork();
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
    this.cork();
    this.quotaLimiter.reward(key, 1).catch(() => {});
  }

  /** Holds this turn's commands for one write (see the class comment); the library writes synchronously inside
   * consume/reward. */
  private cork(): void {
    const s = this.client.stream as Socket | undefined;
    if (this.corked !== undefined || s === undefined || this.client.status !== 'ready') return;
    s.cork();
    this.corked = s;
    setImmediate(this.uncork);
  }
}

/** The runtime's connection for `store`, made on first use. */
export function redisLimitsFor(runtime: Runtime, store: RateLimitStore): RedisLimits {
  return stateOf(
    runtime,
    `rate-limit:redis:${store.redis_url}\0${store.prefix}\0${store.timeout_ms}`,
    () => new RedisLimits(store, runtime),
  );
}
