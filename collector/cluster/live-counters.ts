/**
 * Live counters in Redis: today's and this hour's requests per app and per
 * (app, service), and a per-second counter for current QPS, each key with an
 * expiry. Reports and billing come from ClickHouse; these are the fast view.
 *
 * Exactly once under redelivery: per topic/partition Redis keeps the offset of
 * the last event applied (its mark), and one Lua script applies a range of
 * offsets only if the mark is below the range, moving the mark to its end in
 * the same step. A replay after a crash, however its batches are cut, adds
 * nothing twice.
 *
 * Exactly once across a Redis outage: Redis is never waited on beyond one
 * commandTimeoutMs per outage, so ClickHouse writes and Kafka commits go on;
 * the increments that could not be applied wait per partition, in offset
 * order, merged per counter cell (live-delta.ts), and are applied by the same
 * guarded script as soon as Redis answers again. An attempt whose outcome is
 * unknown (a timeout after sending) is never merged into: retried as the same
 * range, the mark tells whether it had landed. Bounds and what is not covered
 * (SIGKILL with a backlog, Redis losing its data) are in docs/analytics.md.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AccessEvent } from '../../shared/access-event.ts';
import { deltaOf, emptyDelta, mergeDelta, pruneDelta, scriptArgs } from './live-delta.ts';
import type { LiveDelta, LiveKeys } from './live-delta.ts';
import {
  APPLY_LUA,
  DEFAULT_LIVE_PREFIX,
  dayKey,
  hourKey,
  MARK_TTL_S,
  markKey,
  secondKey,
  serviceField,
} from './live-layout.ts';

export { DEFAULT_LIVE_PREFIX, dayKey, hourKey, markKey, secondKey, serviceField } from './live-layout.ts';

export interface LiveEvent {
  offset: number;
  event: Pick<AccessEvent, 'startMs' | 'appId' | 'service'> & { interim?: boolean };
}

export interface LiveCountersOptions {
  url: string;
  prefix?: string;
  logger: Logger;
  /** Bound on every Redis command (default 500). */
  commandTimeoutMs?: number;
  /** How often a backlog waiting for Redis is retried (default 1000). */
  retryIntervalMs?: number;
  /** Bound on the cells (bucket × app × service, and seconds) the backlog holds; increments of further cells are
   * dropped and counted (default 100,000). */
  maxPendingCells?: number;
  /** Per partition, events kept one by one while its mark is unknown, so a redelivered overlap can be cut off exactly
   * (default 20,000, the batch size). */
  maxUncertainEvents?: number;
  now?: () => number;
}

/** Increments waiting for Redis: one batch's events (mark unknown) or merged batches (offsets first..last). */
interface Pending {
  events: readonly LiveEvent[] | undefined;
  delta: LiveDelta | undefined;
  first: number;
  last: number;
  /** Sent at least once: it may have landed, so it is retried as the same range and never merged into. */
  sealed: boolean;
}

interface PartitionState {
  markKey: string;
  /** The stored mark as last seen; undefined = read it before the next apply. */
  mark: number | undefined;
  /** The mark was read since the partition was (re)assigned: no batch of ours goes below it, so batches may be merged.
   * */
  known: boolean;
  queue: Pending[];
  /** Events held in one-by-one entries of the queue. */
  uncertainEvents: number;
  /** This partition's applies, one at a time and in order (never rejects). */
  chain: Promise<boolean>;
}

export class LiveCounters {
  readonly prefix: string;
  /** False from the first failure until a batch is applied again (or the connection is ready). */
  up = false;
  /** Requests refused by the backlog's bound (cap), or whose range another writer had half applied (conflict). */
  readonly dropped = { cap: 0, conflict: 0 };
  readonly #redis: Redis;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #keys: LiveKeys;
  readonly #maxPendingCells: number;
  readonly #maxUncertainEvents: number;
  /** Per `topic/partition`: at most the topic's partitions. */
  readonly #partitions = new Map<string, PartitionState>();
  /** A command failed on a ready connection (e.g. a hung server): skip at once until a PING answers. */
  #suspect = false;
  #recovering: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(options: LiveCountersOptions) {
    const prefix = (this.prefix = options.prefix ?? DEFAULT_LIVE_PREFIX);
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#maxPendingCells = options.maxPendingCells ?? 100_000;
    this.#maxUncertainEvents = options.maxUncertainEvents ?? 20_000;
    this.#keys = {
      dayKey: (s, kind) => dayKey(prefix, s, kind),
      hourKey: (s, kind) => hourKey(prefix, s, kind),
      secondKey: (s) => secondKey(prefix, s),
      serviceField,
    };
    this.#redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectionName: 'tollgate-collector-live',
      retryStrategy: (times) => Math.min(times * 100, 2000),
      maxRetriesPerRequest: null,
    });
    // Without a listener ioredis prints every reconnect failure to stderr.
    this.#redis.on('error', () => {});
    this.#redis.on('ready', () => {
      this.up = true;
      this.#suspect = false;
      this.#recover();
    });
    this.#redis.on('close', () => (this.up = false));
    this.#timer = setInterval(() => this.#recover(), options.retryIntervalMs ?? 1000).unref();
  }

  /** Waits at most timeoutMs for the first connection, so the first batch is not deferred on a cold start. */
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

  /** What waits for Redis: events and counter cells (the latter bounded by maxPendingCells). */
  get pending(): { events: number; cells: number } {
    let events = 0;
    let cells = 0;
    for (const p of this.#partitions.values()) {
      for (const e of p.queue) {
        events += e.events?.length ?? e.delta!.events;
        cells += e.delta?.cells ?? 0;
      }
    }
    return { events, cells };
  }

  /**
   * Adds one batch of one partition (events in offset order) after the
   * partition's backlog. Never throws; resolves true once everything of the
   * partition is in Redis, false when it waits for Redis (not lost: applied
   * when Redis answers again).
   */
  async apply(topic: string, partition: number, events: readonly LiveEvent[]): Promise<boolean> {
    const p = this.#partition(topic, partition);
    if (events.length > 0) this.#enqueue(p, events);
    if (p.queue.length === 0) return true;
    if (!this.#healthy()) {
      this.up = false;
      return false;
    }
    return this.#drain(p);
  }

  /** Partitions were (re)assigned: another collector may have moved their marks, so read them again before merging. */
  reassigned(): void {
    for (const p of this.#partitions.values()) {
      p.known = false;
      p.mark = undefined;
    }
  }

  /** Applies the backlog if Redis answers (each command bounded), then disconnects; what is still pending is logged as
   * lost. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#recovering;
    if (this.#healthy()) await Promise.all([...this.#partitions.values()].map((p) => this.#drain(p)));
    const { events } = this.pending;
    if (events > 0)
      this.#logger.warn(
        { events },
        'live counters closed with increments Redis never got; they ' +
          'stay short until their keys expire (reports are unaffected)',
      );
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #partition(topic: string, partition: number): PartitionState {
    const id = `${topic}/${partition}`;
    let p = this.#partitions.get(id);
    if (p === undefined) {
      p = {
        markKey: markKey(this.prefix, topic, partition),
        mark: undefined,
        known: false,
        queue: [],
        uncertainEvents: 0,
        chain: Promise.resolve(true),
      };
      this.#partitions.set(id, p);
    }
    return p;
  }

  #enqueue(p: PartitionState, events: readonly LiveEvent[]): void {
    const last = events[events.length - 1].offset;
    // Mark unknown: some of these may be a redelivered overlap already in Redis; keep them one by one to cut it off
    // exactly.
    if (!p.known && p.uncertainEvents + events.length <= this.#maxUncertainEvents) {
      p.queue.push({ events, delta: undefined, first: events[0].offset, last, sealed: false });
      p.uncertainEvents += events.length;
      return;
    }
    const mark = p.known ? (p.mark ?? -1) : -1;
    const fresh = events[0].offset > mark ? events : events.filter((e) => e.offset > mark);
    if (fresh.length === 0) return;
    const nowMs = this.#now();
    const delta = deltaOf(fresh, nowMs);
    let tail = p.queue[p.queue.length - 1];
    // Nothing waits: this batch goes to Redis now, whole.
    if (tail === undefined) {
      p.queue.push({ events: undefined, delta, first: fresh[0].offset, last, sealed: false });
      return;
    }
    // Behind an entry that cannot be merged into (sent once, or held event by event), a new
    // entry starts, under the same bound as merges: the cells the backlog holds count against it.
    if (tail.sealed || tail.delta === undefined) {
      tail = { events: undefined, delta: emptyDelta(), first: fresh[0].offset, last, sealed: false };
      p.queue.push(tail);
    }
    const into = tail.delta!;
    pruneDelta(into, nowMs);
    const refused = mergeDelta(into, delta, this.#maxPendingCells - this.pending.cells);
    tail.last = last;
    if (refused > 0) {
      if (this.dropped.cap === 0)
        this.#logger.warn(
          { maxPendingCells: this.#maxPendingCells },
          'live-counter backlog full; increments of new cells are dropped until Redis is back',
        );
      this.dropped.cap += refused;
    }
  }

  #healthy(): boolean {
    return this.#redis.status === 'ready' && !this.#suspect;
  }

  #drain(p: PartitionState): Promise<boolean> {
    p.chain = p.chain.then(() => this.#drainNow(p));
    return p.chain;
  }

  async #drainNow(p: PartitionState): Promise<boolean> {
    while (p.queue.length > 0) {
      if (!this.#healthy()) return false;
      const head = p.queue[0];
      head.sealed = true;
      try {
        await this.#applyHead(p, head);
      } catch (error) {
        p.mark = undefined;
        // The connection may look ready while nothing answers (a hung server): later batches skip Redis until a PING
        // does.
        this.#suspect = true;
        this.up = false;
        this.#logger.warn(
          { err: error, mark: p.markKey, pending: this.pending },
          'live counters waiting for redis; reports are unaffected',
        );
        return false;
      }
      p.queue.shift();
      if (head.events) p.uncertainEvents -= head.events.length;
      this.up = true;
    }
    return true;
  }

  async #applyHead(p: PartitionState, head: Pending): Promise<void> {
    // Three tries: a concurrent writer (e.g. the partition's previous owner) may move the mark inside our events.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (p.mark === undefined) p.mark = Number((await this.#redis.get(p.markKey)) ?? -1);
      p.known = true;
      const mark = p.mark;
      const fresh = head.events?.filter((e) => e.offset > mark);
      if (fresh?.length === 0) return;
      const nowMs = this.#now();
      const delta = fresh ? deltaOf(fresh, nowMs) : head.delta!;
      pruneDelta(delta, nowMs);
      const first = fresh ? fresh[0].offset : head.first;
      const last = fresh ? fresh[fresh.length - 1].offset : head.last;
      const { keys, args } = scriptArgs(delta, this.#keys);
      const [status, stored] = (await this.#redis.eval(
        APPLY_LUA,
        keys.length + 1,
        p.markKey,
        ...keys,
        first,
        last,
        MARK_TTL_S,
        ...args,
      )) as [number, string];
      p.mark = Number(stored);
      if (status !== 3) return;
      if (!fresh) {
        // Merged increments cannot be split: someone else applied part of this range.
        this.dropped.conflict += delta.events;
        this.#logger.warn(
          { mark: p.markKey, stored, first, last },
          'live counters: another writer applied part of a merged backlog; its increments are dropped',
        );
        return;
      }
    }
  }

  /** Retries every partition's backlog once Redis answers; one recovery at a time. */
  #recover(): void {
    if (this.#recovering || this.#redis.status !== 'ready') return;
    const waiting = [...this.#partitions.values()].filter((p) => p.queue.length > 0);
    if (waiting.length === 0) return;
    this.#recovering = (async () => {
      if (this.#suspect) {
        try {
          await this.#redis.ping();
          this.#suspect = false;
        } catch {
          return;
        }
      }
      if (await Promise.all(waiting.map((p) => this.#drain(p))).then((ok) => ok.every(Boolean))) {
        this.#logger.info('live counters caught up with the increments Redis missed');
      }
    })().finally(() => (this.#recovering = undefined));
  }
}
