import { Redis } from 'ioredis';
import { identityDocOf, type AppStore, type IdentityDoc } from '../doc.ts';

export interface RedisAppStoreOptions {
  url: string;
  /** Same prefix as the config store: nodes sharing it share apps and keys. */
  prefix: string;
  commandTimeoutMs?: number;
  /** Re-read the version this often in case a pub/sub message was lost (default 500). */
  pollIntervalMs?: number;
  onError?: (err: Error) => void;
  /** Each poll that read the version (outageLog: the end of an outage). */
  onOk?: () => void;
}

/**
 * Compare-and-set in one script: the version moves by one only when the
 * writer saw the current one, and every node is told on the channel. A
 * stored version behind the writer's means the store lost its data (Redis
 * restarted empty): the writer's doc goes in after its version, so the nodes
 * still serving that version take it as newer (as the config store's append
 * does). It used to be refused, the writer then redid its change on the empty
 * doc, saved that as version 1, and no node took it: the change answered 201
 * and was served nowhere, and the store kept only it.
 * KEYS: hash {version, doc}. ARGV: expected version, doc JSON, channel.
 */
const SAVE_LUA = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local expected = tonumber(ARGV[1])
if cur > expected then return -1 end
local v = expected + 1
redis.call('HSET', KEYS[1], 'version', v, 'doc', ARGV[2])
redis.call('PUBLISH', ARGV[3], v)
return v
`;

/**
 * Cluster app store. Watchers hear saves on pub/sub and also poll the
 * version, so a node that missed a message (reconnect) still reloads within
 * one poll interval: a disabled app is refused everywhere within a second.
 */
export class RedisAppStore implements AppStore {
  readonly #redis: Redis;
  #subscriber: Redis | undefined;
  readonly #key: string;
  readonly #channel: string;
  readonly #pollMs: number;
  readonly #onError: (err: Error) => void;
  readonly #onOk: () => void;
  #timer: NodeJS.Timeout | undefined;
  #seen = 0;
  #closed = false;

  constructor(o: RedisAppStoreOptions) {
    this.#key = `${o.prefix}identity`;
    this.#channel = `${o.prefix}identity:events`;
    this.#pollMs = o.pollIntervalMs ?? 500;
    this.#onError = o.onError ?? (() => {});
    this.#onOk = o.onOk ?? (() => {});
    this.#redis = new Redis(o.url, {
      commandTimeout: o.commandTimeoutMs ?? 2000,
      connectionName: 'tollgate-app-store',
      retryStrategy: (times) => Math.min(times * 100, 2000),
      maxRetriesPerRequest: null,
    });
    this.#redis.on('error', (err: Error) => this.#onError(err));
  }

  async load(): Promise<IdentityDoc> {
    const [version, doc] = await this.#redis.hmget(this.#key, 'version', 'doc');
    if (version === null || doc === null) return identityDocOf(0, {});
    const v = Number(version);
    this.#seen = Math.max(this.#seen, v);
    return identityDocOf(v, JSON.parse(doc) as Partial<IdentityDoc>);
  }

  async save(doc: Omit<IdentityDoc, 'version'>, expected: number): Promise<IdentityDoc | undefined> {
    const body = JSON.stringify({
      appsVersion: doc.appsVersion,
      keysVersion: doc.keysVersion,
      apps: doc.apps,
      keys: doc.keys,
    });
    const v = Number(await this.#redis.eval(SAVE_LUA, 1, this.#key, String(expected), body, this.#channel));
    if (v < 0) return undefined;
    this.#seen = Math.max(this.#seen, v);
    return { version: v, appsVersion: doc.appsVersion, keysVersion: doc.keysVersion, apps: doc.apps, keys: doc.keys };
  }

  watch(onChange: () => void, onLost?: (stored: number) => void): void {
    if (this.#subscriber || this.#closed) return;
    const check = (hint?: number) => {
      const newer = (v: number) => {
        if (!this.#closed && v > this.#seen) {
          this.#seen = v;
          onChange();
        }
      };
      if (hint !== undefined) return newer(hint);
      this.#redis.hget(this.#key, 'version').then(
        (text) => {
          this.#onOk();
          const v = Number(text ?? 0);
          // Versions only move forward: behind what this store saw, the data is gone.
          if (v < this.#seen && !this.#closed) onLost?.(v);
          else newer(v);
        },
        (err: Error) => this.#onError(err),
      );
    };
    const sub = this.#redis.duplicate();
    this.#subscriber = sub;
    sub.on('error', (err: Error) => this.#onError(err));
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.#channel && Number.isInteger(Number(message))) check(Number(message));
    });
    sub.subscribe(this.#channel).then(
      () => check(),
      (err: Error) => this.#onError(err),
    );
    this.#timer = setInterval(() => check(), this.#pollMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all([quit(this.#redis), this.#subscriber && quit(this.#subscriber)]);
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      /* a timed-out QUIT still has to release the socket */
    }
  }
  client.disconnect();
}
