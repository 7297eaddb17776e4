import { EventDecodeError } from '../../shared/access-event-codec.ts';
import { emptyView, readEvent } from '../aggregate/event-view.ts';
import { SegmentReader } from '../../shared/segment-log/segment-reader.ts';
import { bucketStartMs, TrafficAggregator } from '../aggregate/traffic.ts';
import { TraceExamples } from '../aggregate/trace-examples.ts';
import { LiveStats, type LiveSnapshot } from './live-stats.ts';
import { RecentEvents } from './recent-events.ts';
import type { RecentEvent, RecentSelection } from '../reports/source.ts';
import { discoverLogDirs, logEndPosition, type LogSource } from './sources.ts';
import { StalePositionError, type DeadLetter, type EmbeddedStore } from './store.ts';
import { outageLog } from '../../shared/outage-log.ts';
import { ChangeWatch } from './change-watch.ts';

/** Passes in a row that find nothing before the collector waits for a change instead (1 s at the default 200 ms). */
const IDLE_PASSES = 5;
/** While it waits for a change, a pass still runs this often: a log directory made after the watch began. */
const IDLE_SLEEP_MS = 5000;

export interface CollectorLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export interface EmbeddedCollectorOptions {
  /** The gateway's events.dir: `<dir>/log` and every `<dir>/w<N>/log` are consumed. */
  eventsDir: string;
  store: EmbeddedStore;
  /** Wait between passes that found nothing more to read (default 200); idle, it waits for a change instead. */
  pollIntervalMs?: number;
  /** Records per batch, i.e. per store transaction (default 5000). */
  batchRecords?: number;
  logger?: CollectorLogger;
  /** Clock of the live stats (default Date.now). */
  now?: () => number;
}

export interface CollectorStats {
  /** Events counted into the aggregates since start. */
  counted: number;
  /** Records that were not decodable, stored in dead_letters, since start. */
  deadLetters: number;
  /** Bytes written to the logs but not yet counted, per source, as of the last pass. */
  lagBytes: Record<string, number>;
  /** Records the segment readers skipped (bad checksum) and bytes they quarantined. */
  damagedRecords: number;
  quarantinedBytes: number;
  batches: number;
  /** Batches that failed to read or store (retried from the same position). */
  failedBatches: number;
}

export interface BatchInfo {
  source: string;
  records: number;
  seconds: number;
}

interface SourceState extends LogSource {
  reader: SegmentReader;
  /** The stored position: where the next batch is read from. */
  position: number;
  failing: boolean;
}

/**
 * The single-node collector: consumes every gateway segment log under the
 * events directory, aggregates each batch and writes it with its next
 * position in one store transaction. The store's position, not the segment
 * reader's checkpoint, is where it resumes; the checkpoint is committed only
 * after the transaction, to let the log delete consumed segments.
 */
export class EmbeddedCollector {
  readonly #opts: Required<Omit<EmbeddedCollectorOptions, 'logger'>> & { logger?: CollectorLogger };
  readonly #sources = new Map<string, SourceState>();
  readonly #live: LiveStats;
  readonly #listeners: Array<(b: BatchInfo) => void> = [];
  readonly #stats: Omit<CollectorStats, 'damagedRecords' | 'quarantinedBytes'> = {
    counted: 0,
    deadLetters: 0,
    lagBytes: {},
    batches: 0,
    failedBatches: 0,
  };
  /** Every record is read into this one view: counting makes no object or string per event. */
  readonly #view = emptyView();
  /** Copies of the newest requests' records, for the live tail. */
  readonly #recent = new RecentEvents();
  #pass: Promise<number> = Promise.resolve(0);
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  readonly #watch = new ChangeWatch();
  #idlePasses = 0;

  constructor(options: EmbeddedCollectorOptions) {
    this.#opts = {
      ...options,
      pollIntervalMs: options.pollIntervalMs ?? 200,
      batchRecords: options.batchRecords ?? 5000,
      now: options.now ?? Date.now,
    };
    this.#live = new LiveStats(this.#opts.now);
  }

  get stats(): CollectorStats {
    let damagedRecords = 0;
    let quarantinedBytes = 0;
    for (const s of this.#sources.values()) {
      damagedRecords += s.reader.stats.skippedRecords;
      quarantinedBytes += s.reader.stats.quarantinedBytes;
    }
    return { ...this.#stats, lagBytes: { ...this.#stats.lagBytes }, damagedRecords, quarantinedBytes };
  }

  live(): LiveSnapshot {
    return this.#live.snapshot();
  }

  /** The newest requests counted that match, newest first. */
  recent(q: RecentSelection): RecentEvent[] {
    return this.#recent.newest(q);
  }

  /** Called after every stored batch (for the batch-duration histogram). */
  onBatch(listener: (b: BatchInfo) => void): void {
    this.#listeners.push(listener);
  }

  /** Seeds today's live counts from the store and starts polling. */
  async start(): Promise<void> {
    if (this.#loop) return;
    const day = bucketStartMs('day', this.#opts.now());
    const rows = this.#opts.store.trafficRows({ granularity: 'day', fromMs: day, toMs: day + 86_400_000 });
    this.#live.seed(
      day,
      rows.map((r) => ({ appId: r.appId, service: r.service, requests: r.counters.requests })),
    );
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Stops polling after the batch in flight is stored, and closes the readers. The store stays open. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    await this.#pass.catch(() => undefined);
    this.#loop = undefined;
    for (const s of this.#sources.values()) await s.reader.close();
    this.#sources.clear();
  }

  /** One pass over every log: reads and stores at most one batch per source. Returns the records handled. */
  pollOnce(): Promise<number> {
    const pass = this.#pass.catch(() => 0).then(() => this.#passOnce());
    this.#pass = pass;
    return pass;
  }

  async #run(): Promise<void> {
    // A pass that keeps failing (the events directory unreadable, out of file descriptors) is retried every poll
    // interval: its outage is logged when it begins, each minute and when a pass succeeds again, not every 200 ms.
    const passes =
      this.#opts.logger === undefined
        ? undefined
        : outageLog(this.#opts.logger, 'collector: a pass over the event logs');
    while (!this.#stopping) {
      let handled = 0;
      let caughtUp = false;
      try {
        handled = await this.pollOnce();
        passes?.onOk();
        caughtUp = handled === 0 && Object.values(this.#stats.lagBytes).every((lag) => lag === 0);
      } catch (error) {
        passes?.onError(error instanceof Error ? error : new Error(String(error)));
      }
      // A full batch means more is waiting: go on at once.
      if (this.#stopping || handled >= this.#opts.batchRecords) continue;
      await this.#sleep(caughtUp);
    }
    this.#watch.close();
  }

  /**
   * Waits for the next pass: the poll interval, or, once IDLE_PASSES passes in a row found nothing to read, until a
   * log directory changes (ChangeWatch), with a pass every IDLE_SLEEP_MS still. The pass after arming the watch
   * catches what was written before it.
   */
  async #sleep(caughtUp: boolean): Promise<void> {
    this.#idlePasses = caughtUp ? this.#idlePasses + 1 : 0;
    let waitMs = this.#opts.pollIntervalMs;
    if (this.#idlePasses <= IDLE_PASSES) this.#watch.close();
    else if (this.#watch.armed) waitMs = Math.max(waitMs, IDLE_SLEEP_MS);
    else {
      const dirs = [this.#opts.eventsDir, ...[...this.#sources.values()].map((s) => s.dir)];
      this.#watch.arm(dirs, () => {
        this.#idlePasses = 0;
        this.#wake?.();
      });
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #passOnce(): Promise<number> {
    await this.#discover();
    let handled = 0;
    for (const s of this.#sources.values()) {
      handled = Math.max(handled, await this.#pollSource(s));
      this.#stats.lagBytes[s.source] = Math.max(0, (await logEndPosition(s.dir)) - s.position);
    }
    return handled;
  }

  async #discover(): Promise<void> {
    for (const found of await discoverLogDirs(this.#opts.eventsDir)) {
      if (this.#sources.has(found.source)) continue;
      const reader = await SegmentReader.open(found.dir, { logger: this.#opts.logger });
      const position = this.#opts.store.positionOf(found.source) ?? reader.committed;
      this.#sources.set(found.source, { ...found, reader, position, failing: false });
    }
  }

  async #pollSource(s: SourceState): Promise<number> {
    const startedMs = performance.now();
    const from = s.position;
    try {
      const aggregator = new TrafficAggregator();
      const examples = new TraceExamples();
      const perSecond = new Map<number, number>();
      const deadLetters: DeadLetter[] = [];
      const event = this.#view;
      // Each record is counted as it is read: a batch keeps no object per record.
      const { count, next } = await s.reader.visit(from, this.#opts.batchRecords, (payload, position) => {
        try {
          readEvent(payload, event);
        } catch (error) {
          const reason = error instanceof EventDecodeError ? error.reason : 'invalid';
          deadLetters.push({ source: s.source, position, reason, raw: payload });
          return;
        }
        aggregator.add(event);
        if (event.interim) return; // traffic of a connection still open, not a request
        this.#recent.add(payload);
        examples.add(event);
        const second = Math.floor(event.startMs / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      });
      if (next === from) return 0;
      const deltas = aggregator.drain();
      // Synchronous: the payload views dead letters hold are copied into SQLite before the next read reuses them.
      this.#opts.store.applyBatch({ source: s.source, from, next, deltas, deadLetters, examples: examples.drain() });
      s.position = next;
      this.#live.apply(deltas, perSecond);
      this.#stats.counted += count - deadLetters.length;
      this.#stats.deadLetters += deadLetters.length;
      this.#stats.batches += 1;
      if (deadLetters.length > 0) {
        this.#opts.logger?.warn(
          {
            source: s.source,
            count: deadLetters.length,
            position: deadLetters[0].position,
            reason: deadLetters[0].reason,
          },
          'collector: undecodable records stored as dead letters',
        );
      }
      if (s.failing) this.#opts.logger?.info({ source: s.source }, 'collector: batches are stored again');
      s.failing = false;
      await this.#commitReader(s, next);
      const info = { source: s.source, records: count, seconds: (performance.now() - startedMs) / 1000 };
      for (const listener of this.#listeners) listener(info);
      return count;
    } catch (error) {
      this.#stats.failedBatches += 1;
      // Another writer moved the stored position (a second collector on the same store): follow it.
      if (error instanceof StalePositionError) s.position = this.#opts.store.positionOf(s.source) ?? s.position;
      if (!s.failing)
        this.#opts.logger?.warn(
          { err: error, source: s.source, position: from },
          'collector: batch failed; retrying from the same position',
        );
      s.failing = true;
      return 0;
    }
  }

  /**
   * After the transaction: a crash before this commit resumes from the store's position, never counting
   * twice. The checkpoint only lets the log delete consumed segments, so a failure here delays that, nothing more.
   */
  async #commitReader(s: SourceState, next: number): Promise<void> {
    if (next <= s.reader.committed) return;
    try {
      await s.reader.commit(next);
    } catch (error) {
      this.#opts.logger?.warn(
        { err: error, source: s.source, position: next },
        'collector: segment log checkpoint failed; consumed segments are kept',
      );
    }
  }
}
