/**
 * Live counters in Redis: today's and this hour's requests per app and per
 * (app, service), and a per-second counter for current QPS, each key with an
 * expiry. Best-effort: reports come from ClickHouse, so a slow or absent Redis
 * is logged, counted and skipped, never waited on beyond commandTimeoutMs.
 *
 * Exactly once under redelivery: per topic/partition Redis keeps the offset of
 * the last event applied (its mark). A batch is filtered to offsets above the
 * mark we last saw and applied by one Lua script only if the stored mark is
 * still that one (compare-and-set), so a replay after a crash, however its
 * batches are cut, adds nothing twice.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AccessEvent } from '../../shared/access-event.ts';

export const DEFAULT_LIVE_PREFIX = 'tollgate:live:';
const DAY_S = 86_400;
const HOUR_S = 3600;
const DAY_TTL_S = 2 * DAY_S;
const HOUR_TTL_S = 2 * HOUR_S;
const SECOND_TTL_S = 60;
/** Marks outlive every counter key; an idle partition's mark may then go. */
const MARK_TTL_S = 7 * DAY_S;

/** YYYY-MM-DD (UTC) of the day holding epoch second s. */
export function dayKey(prefix: string, epochS: number, kind: 'app' | 'service'): string {
  return `${prefix}day:${new Date(epochS * 1000).toISOString().slice(0, 10)}:${kind}`;
}

/** YYYY-MM-DDTHH (UTC) of the hour holding epoch second s. */
export function hourKey(prefix: string, epochS: number, kind: 'app' | 'service'): string {
  return `${prefix}hour:${new Date(epochS * 1000).toISOString().slice(0, 13)}:${kind}`;
}

export function secondKey(prefix: string, epochS: number): string {
  return `${prefix}qps:${epochS}`;
}

export function markKey(prefix: string, topic: string, partition: number): string {
  return `${prefix}offset:${topic}/${partition}`;
}

/** The hash field of an (app, service) pair: JSON, so no separator can collide. */
export function serviceField(appId: string, service: string): string {
  return JSON.stringify([appId, service]);
}

// KEYS[1] = mark; KEYS[2..] = counters. ARGV: expected mark, new mark, mark ttl,
// then per counter key: ttl, kind ('hash' | 'string'), n, n × (field, increment);
// a string counter has one pair whose field is ignored.
const APPLY_LUA = `
local stored = redis.call('GET', KEYS[1]) or '-1'
if stored ~= ARGV[1] then return {0, stored} end
local a = 4
for k = 2, #KEYS do
  local ttl = ARGV[a]
  local kind = ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for i = 1, n do
    if kind == 'string' then redis.call('INCRBY', KEYS[k], ARGV[a + 1])
    else redis.call('HINCRBY', KEYS[k], ARGV[a], ARGV[a + 1]) end
    a = a + 2
  end
  redis.call('EXPIRE', KEYS[k], ttl)
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return {1, ARGV[2]}
`;

export interface LiveEvent {
  offset: number;
  event: Pick<AccessEvent, 'startMs' | 'appId' | 'service'>;
}

export interface LiveCountersOptions {
  url: string;
  prefix?: string;
  logger: Logger;
  /** Bound on every Redis command (default 500). */
  commandTimeoutMs?: number;
  now?: () => number;
}

export class LiveCounters {
  readonly prefix: string;
  /** False from the first failure until a batch is applied again (or the connection is ready). */
  up = false;
  readonly #redis: Redis;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Last mark seen per `topic/partition`; absent = read it first. */
  readonly #marks = new Map<string, string>();

  constructor(options: LiveCountersOptions) {
    this.prefix = options.prefix ?? DEFAULT_LIVE_PREFIX;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectionName: 'tollgate-collector-live',
      retryStrategy: (times) => Math.min(times * 100, 2000),
      maxRetriesPerRequest: null,
    });
    // Without a listener ioredis prints every reconnect failure to stderr.
    this.#redis.on('error', () => {});
    this.#redis.on('ready', () => (this.up = true));
    this.#redis.on('close', () => (this.up = false));
  }

  /** Waits at most timeoutMs for the first connection, so the first batch is not skipped on a cold start. */
  async connect(timeoutMs = 1000): Promise<boolean> {
    if (this.#redis.status === 'ready') return true;
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      new Promise<boolean>((resolve) => this.#redis.once('ready', () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return ready;
  }

  /**
   * Applies one batch of one partition (events in offset order). Never
   * throws; resolves false when Redis was unavailable and the batch skipped.
   */
  async apply(topic: string, partition: number, events: readonly LiveEvent[]): Promise<boolean> {
    if (events.length === 0) return true;
    const id = `${topic}/${partition}`;
    const mark = markKey(this.prefix, topic, partition);
    try {
      // Not connected: skip at once rather than queue behind the reconnect.
      if (this.#redis.status !== 'ready') throw new Error(`redis is ${this.#redis.status}`);
      // Two attempts: the second after learning another collector moved the mark.
      for (let attempt = 0; attempt < 2; attempt++) {
        let expected = this.#marks.get(id);
        if (expected === undefined) {
          expected = (await this.#redis.get(mark)) ?? '-1';
          this.#marks.set(id, expected);
        }
        const above = Number(expected);
        const fresh = events.filter((e) => e.offset > above);
        if (fresh.length === 0) return true;
        const next = String(fresh[fresh.length - 1].offset);
        const { keys, args } = this.#increments(fresh);
        const [applied, stored] = (await this.#redis.eval(APPLY_LUA, keys.length + 1, mark, ...keys, expected, next, MARK_TTL_S, ...args)) as [number, string];
        this.#marks.set(id, String(stored));
        this.up = true;
        if (applied === 1) return true;
      }
      return true;
    } catch (error) {
      this.#marks.delete(id);
      this.up = false;
      this.#logger.warn({ err: error, topic, partition, events: events.length }, 'live counters not updated (redis unavailable); reports are unaffected');
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** Keys and script arguments of the batch's increments, skipping keys that would already have expired. */
  #increments(events: readonly LiveEvent[]): { keys: string[]; args: (string | number)[] } {
    const nowS = Math.floor(this.#now() / 1000);
    const todayS = Math.floor(nowS / DAY_S) * DAY_S;
    const thisHourS = Math.floor(nowS / HOUR_S) * HOUR_S;
    // Counted per bucket and (app, service) first, so key and field strings are
    // built once per batch rather than per event (they were most of the collector's CPU).
    const days = new Map<number, PairCounts>();
    const hours = new Map<number, PairCounts>();
    const seconds = new Map<number, number>();
    for (const { event } of events) {
      const s = Math.floor(event.startMs / 1000);
      // Yesterday too, so a request just before midnight UTC still lands in its day.
      if (s >= todayS - DAY_S) countPair(days, s - (s % DAY_S), event);
      if (s >= thisHourS - HOUR_S) countPair(hours, s - (s % HOUR_S), event);
      if (s > nowS - SECOND_TTL_S) seconds.set(s, (seconds.get(s) ?? 0) + 1);
    }
    const keys: string[] = [];
    const args: (string | number)[] = [];
    const hash = (key: string, ttlS: number, fields: Map<string, number>): void => {
      keys.push(key);
      args.push(ttlS, 'hash', fields.size);
      for (const [field, n] of fields) args.push(field, n);
    };
    for (const [buckets, ttlS, keyOf] of [[days, DAY_TTL_S, dayKey], [hours, HOUR_TTL_S, hourKey]] as const) {
      for (const [startS, pairs] of buckets) {
        const apps = new Map<string, number>();
        const services = new Map<string, number>();
        for (const [appId, byService] of pairs) {
          let appTotal = 0;
          for (const [service, n] of byService) {
            services.set(serviceField(appId, service), n);
            appTotal += n;
          }
          apps.set(appId, appTotal);
        }
        hash(keyOf(this.prefix, startS, 'app'), ttlS, apps);
        hash(keyOf(this.prefix, startS, 'service'), ttlS, services);
      }
    }
    // A string counter has one (ignored field, increment) pair.
    for (const [s, n] of seconds) {
      keys.push(secondKey(this.prefix, s));
      args.push(SECOND_TTL_S, 'string', 1, '', n);
    }
    return { keys, args };
  }
}

/** Events per bucket start (epoch s) → app → service. */
type PairCounts = Map<string, Map<string, number>>;

function countPair(buckets: Map<number, PairCounts>, startS: number, e: LiveEvent['event']): void {
  let pairs = buckets.get(startS);
  if (pairs === undefined) buckets.set(startS, (pairs = new Map()));
  let byService = pairs.get(e.appId);
  if (byService === undefined) pairs.set(e.appId, (byService = new Map()));
  byService.set(e.service, (byService.get(e.service) ?? 0) + 1);
}
