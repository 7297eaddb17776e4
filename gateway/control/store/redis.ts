import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ConfigStore, ConfigVersion, ConfigVersionSummary } from '../types.ts';
import { ConfigConflictError } from './conflict.ts';
import { DEFAULT_HISTORY_LIMIT } from './file.ts';
import { versionRecord } from './record.ts';

export interface RedisConfigStoreOptions {
  url: string;
  /** Prepended to every key and the channel, so clusters can share one Redis (default `tollgate:`). */
  prefix?: string;
  /** Versions kept; older ones are deleted by each append (default 50). */
  historyLimit?: number;
  /** Bound on every Redis call, including time spent queued while reconnecting (default 2000). */
  commandTimeoutMs?: number;
  /** How often watch() re-reads the head in case a pub/sub message was lost (default 1000). */
  pollIntervalMs?: number;
  /** CLIENT SETNAME of both connections, to find them in CLIENT LIST (default `tollgate-config-store`). */
  connectionName?: string;
  /** Connection and watch errors; commands still reject to their callers (default: ignored). */
  onError?: (err: Error) => void;
  /** Each watch check that read the store (outageLog: the end of an outage). */
  onOk?: () => void;
}

export const DEFAULT_PREFIX = 'tollgate:';
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
const DEFAULT_POLL_INTERVAL_MS = 1000;

/**
 * One script so the check of the base, the version number, the stored body,
 * the head and the prune happen atomically: two nodes appending at once get
 * distinct versions, the head (the counter itself) only ever moves forward,
 * and an append derived from a version that is no longer the head is refused
 * with the head negated (versions start at 1, so a refusal is always < 0).
 * A head behind the base means the store lost its keys (Redis restarted
 * empty, a flush): numbering continues after the base, so the nodes still
 * serving it take the new version as newer instead of ignoring it.
 * KEYS: head counter, versions hash. ARGV: body JSON, historyLimit, channel,
 * base ('' = append on top of whatever is the head).
 */
const APPEND_LUA = `
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[4] ~= '' then
  local base = tonumber(ARGV[4])
  if head > base then return -head end
  if head < base then head = base end
end
local v = head + 1
redis.call('SET', KEYS[1], v)
redis.call('HSET', KEYS[2], v, ARGV[1])
local limit = tonumber(ARGV[2])
if redis.call('HLEN', KEYS[2]) > limit then
  local cutoff = v - limit
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(f) <= cutoff then redis.call('HDEL', KEYS[2], f) end
  end
end
redis.call('PUBLISH', ARGV[3], v)
return v
`;
const APPEND_SHA = createHash('sha1').update(APPEND_LUA).digest('hex');

/**
 * Cluster config store. Every node appends through one Lua script and
 * watches the head through pub/sub plus a poll, so a message missed during a
 * reconnect is still picked up within one poll interval.
 *
 * watch() reports versions newer than the last one this instance appended or
 * reported; it never reports this instance's own appends. The first check
 * after subscribing may report the head the caller already loaded through
 * head(), so callers ignore versions they already run.
 */
export class RedisConfigStore implements ConfigStore {
  readonly prefix: string;
  readonly historyLimit: number;
  readonly #redis: Redis;
  #subscriber: Redis | undefined;
  readonly #headKey: string;
  readonly #versionsKey: string;
  readonly #channel: string;
  readonly #pollIntervalMs: number;
  readonly #onError: (err: Error) => void;
  readonly #onOk: () => void;
  readonly #listeners: Array<(v: ConfigVersion) => void> = [];
  readonly #lostListeners: Array<(head: number) => void> = [];
  #pollTimer: NodeJS.Timeout | undefined;
  #lastSeen = 0;
  /** Serialises watch checks so reports are never out of order. */
  #checkTail: Promise<void> = Promise.resolve();
  #pollInFlight = false;
  readonly #appendsInFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: RedisConfigStoreOptions) {
    const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(historyLimit) || historyLimit < 1) {
      throw new RangeError(`historyLimit must be a positive integer, got ${historyLimit}`);
    }
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.historyLimit = historyLimit;
    this.#headKey = `${this.prefix}config:head`;
    this.#versionsKey = `${this.prefix}config:versions`;
    this.#channel = `${this.prefix}config:events`;
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#onError = options.onError ?? (() => {});
    this.#onOk = options.onOk ?? (() => {});
    this.#redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      connectionName: options.connectionName ?? 'tollgate-config-store',
      // Reconnect forever with capped backoff; a command waits for the reconnect
      // only until commandTimeout, which is the one bound callers see.
      retryStrategy: (times) => Math.min(times * 100, 2000),
      maxRetriesPerRequest: null,
    });
    // Without a listener ioredis prints every reconnect failure to stderr.
    this.#redis.on('error', (err: Error) => this.#onError(err));
  }

  async head(): Promise<ConfigVersion | undefined> {
    const version = await this.#headVersion();
    return version === 0 ? undefined : this.get(version);
  }

  async get(version: number): Promise<ConfigVersion | undefined> {
    if (!Number.isInteger(version) || version < 1) return undefined;
    const text = await this.#redis.hget(this.#versionsKey, String(version));
    return text === null ? undefined : parseVersion(version, text);
  }

  async list(limit: number): Promise<ConfigVersionSummary[]> {
    if (!(limit > 0)) return [];
    const fields = (await this.#redis.hkeys(this.#versionsKey))
      .map(Number)
      .sort((a, b) => b - a)
      .slice(0, limit);
    if (fields.length === 0) return [];
    const texts = await this.#redis.hmget(this.#versionsKey, ...fields.map(String));
    const out: ConfigVersionSummary[] = [];
    fields.forEach((version, i) => {
      const text = texts[i];
      // Pruned by another node between HKEYS and HMGET.
      if (text === null || text === undefined) return;
      const { config: _config, ...summary } = parseVersion(version, text);
      out.push(summary);
    });
    return out;
  }

  /** `base`: refused with ConfigConflictError when another node's append moved the head past it. */
  async append(v: Omit<ConfigVersion, 'version'>, base?: number): Promise<ConfigVersion> {
    const record = versionRecord(v);
    const pending = this.#evalAppend(JSON.stringify(record), base);
    this.#appendsInFlight.add(pending);
    try {
      const version = await pending;
      // Nothing stored; the watch reports the newer head like any other node's.
      if (version < 0) throw new ConfigConflictError(base!, -version);
      this.#lastSeen = Math.max(this.#lastSeen, version);
      return { ...record, version };
    } finally {
      this.#appendsInFlight.delete(pending);
    }
  }

  watch(onHead: (v: ConfigVersion) => void, onLost?: (head: number) => void): void {
    if (this.#closed) throw new Error('RedisConfigStore is closed');
    this.#listeners.push(onHead);
    if (onLost) this.#lostListeners.push(onLost);
    if (this.#subscriber) return;
    const subscriber = this.#redis.duplicate();
    this.#subscriber = subscriber;
    subscriber.on('error', (err: Error) => this.#onError(err));
    subscriber.on('message', (channel: string, message: string) => {
      const version = Number(message);
      if (channel === this.#channel && Number.isInteger(version)) this.#check(version);
    });
    // ioredis re-subscribes after a reconnect; the check covers what was published meanwhile.
    subscriber.subscribe(this.#channel).then(
      () => this.#check(),
      (err: Error) => this.#onError(err),
    );
    this.#pollTimer = setInterval(() => {
      if (this.#pollInFlight) return;
      this.#pollInFlight = true;
      this.#check();
      void this.#checkTail.finally(() => {
        this.#pollInFlight = false;
      });
    }, this.#pollIntervalMs);
    this.#pollTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#listeners.length = 0;
    this.#lostListeners.length = 0;
    await this.#checkTail;
    await Promise.all([quit(this.#redis), this.#subscriber ? quit(this.#subscriber) : undefined]);
  }

  /** Queues a check for a head newer than the last seen; `hint` is a version announced on the channel. */
  #check(hint?: number): void {
    this.#checkTail = this.#checkTail.then(() => this.#reportNewer(hint)).catch((err: Error) => this.#onError(err));
  }

  async #reportNewer(hint?: number): Promise<void> {
    if (this.#closed) return;
    const version = hint ?? (await this.#headVersion());
    this.#onOk();
    // The head counter only moves forward: behind what this store saw, the keys are gone.
    if (hint === undefined && version < this.#lastSeen) {
      for (const listener of this.#lostListeners) listener(version);
      return;
    }
    if (version <= this.#lastSeen) return;
    // Our own append may have published before its reply reached us; let it record itself first.
    if (this.#appendsInFlight.size > 0) await Promise.allSettled([...this.#appendsInFlight]);
    if (version <= this.#lastSeen) return;
    const cv = await this.get(version);
    if (!cv || this.#closed || cv.version <= this.#lastSeen) return;
    this.#lastSeen = cv.version;
    for (const listener of this.#listeners) {
      try {
        listener(cv);
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }

  async #headVersion(): Promise<number> {
    const text = await this.#redis.get(this.#headKey);
    return text === null ? 0 : Number(text);
  }

  async #evalAppend(body: string, base: number | undefined): Promise<number> {
    const args = [
      2,
      this.#headKey,
      this.#versionsKey,
      body,
      String(this.historyLimit),
      this.#channel,
      base === undefined ? '' : String(base),
    ] as const;
    try {
      return Number(await this.#redis.evalsha(APPEND_SHA, ...args));
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return Number(await this.#redis.eval(APPEND_LUA, ...args));
    }
  }
}

function parseVersion(version: number, text: string): ConfigVersion {
  return { ...(JSON.parse(text) as Omit<ConfigVersion, 'version'>), version };
}

/** QUIT when connected (flushes pending replies); otherwise drop the socket without waiting. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: a timed-out QUIT still has to release the socket.
    }
  }
  client.disconnect();
}
