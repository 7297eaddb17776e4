import { Worker } from 'node:worker_threads';
import type { BatchInfo, CollectorLogger, CollectorStats } from './collector.ts';
import type { StoredTrafficRow } from './store.ts';
import type { TraceExample } from '../aggregate/trace-examples.ts';
import {
  ReportsUnavailableError,
  type DailyAppRow,
  type DailySelection,
  type ExampleSelection,
  type LiveSnapshot,
  type RecentEvent,
  type RecentSelection,
  type ReportSource,
  type TrafficSelection,
} from '../reports/source.ts';
import type { FromThread, ThreadOptions, ThreadRequest } from './thread-protocol.ts';
import { threadEntry, writeThreadLog } from '../../shared/worker-thread.ts';

export interface CollectorThreadOptions {
  eventsDir: string;
  dbPath: string;
  pollIntervalMs?: number;
  statsIntervalMs?: number;
  logger?: CollectorLogger & { error?(details: object, message: string): void };
  /** First wait before a dead thread is replaced; doubles up to 30 s while replacements keep dying (default 500). */
  restartDelayMs?: number;
}

type Counts = Omit<CollectorStats, 'lagBytes'>;
const ZERO: Counts = {
  counted: 0,
  deadLetters: 0,
  damagedRecords: 0,
  quarantinedBytes: 0,
  batches: 0,
  failedBatches: 0,
};
const MAX_RESTART_DELAY_MS = 30_000;
/** A thread that ran this long before it died starts the backoff over. */
const HEALTHY_RUN_MS = 60_000;

/**
 * The single-node collector on a worker thread: the proxy's event loop only
 * appends events to the segment log, and this thread reads, aggregates and
 * writes SQLite, and answers the reports API's queries. Its stats are the
 * thread's last report (after every batch, and every `statsIntervalMs`).
 * A thread that dies is replaced with backoff; the store and the logs are the
 * state, so the new one resumes exactly where the stored positions say.
 */
export class CollectorThread implements ReportSource {
  readonly #options: Required<Omit<CollectorThreadOptions, 'logger'>> & Pick<CollectorThreadOptions, 'logger'>;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly #listeners: Array<(b: BatchInfo) => void> = [];
  #worker: Worker | undefined;
  #nextId = 1;
  #current: CollectorStats = { ...ZERO, lagBytes: {} };
  /** What threads that died had counted: totals never go back when one is replaced. */
  #past: Counts = { ...ZERO };
  #stopping = false;
  #failuresInRow = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Threads replaced after dying. */
  restarts = 0;

  constructor(options: CollectorThreadOptions) {
    this.#options = { pollIntervalMs: 200, statsIntervalMs: 1000, restartDelayMs: 500, ...options };
  }

  get stats(): CollectorStats {
    const out = { ...this.#current, lagBytes: { ...this.#current.lagBytes } };
    for (const k of Object.keys(ZERO) as (keyof Counts)[]) out[k] += this.#past[k];
    return out;
  }

  onBatch(listener: (b: BatchInfo) => void): void {
    this.#listeners.push(listener);
  }

  /** Starts the thread; rejects when it cannot open the store or the logs. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => this.#spawn(resolve, reject));
  }

  live(): Promise<LiveSnapshot> {
    return this.#call({ op: 'live' }) as Promise<LiveSnapshot>;
  }

  traffic(selection: TrafficSelection): Promise<StoredTrafficRow[]> {
    return this.#call({ op: 'traffic', selection }) as Promise<StoredTrafficRow[]>;
  }

  dailyApps(selection: DailySelection): Promise<DailyAppRow[]> {
    return this.#call({ op: 'dailyApps', selection }) as Promise<DailyAppRow[]>;
  }

  recentEvents(selection: RecentSelection): Promise<RecentEvent[]> {
    return this.#call({ op: 'recent', selection }) as Promise<RecentEvent[]>;
  }

  traceExamples(selection: ExampleSelection): Promise<TraceExample[]> {
    return this.#call({ op: 'examples', selection }) as Promise<TraceExample[]>;
  }

  /** The worker thread's id while one runs (never 0, the main thread's). */
  get threadId(): number | undefined {
    return this.#worker?.threadId;
  }

  /** Ends the thread abruptly, as a crash would: it is replaced as after any death (fault injection for tests). */
  crash(): void {
    void this.#worker?.terminate();
  }

  /** Stops the collector after its batch in flight is stored, closes the store and ends the thread. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    if (worker === undefined) return;
    await this.#call({ op: 'stop' }).catch(() => undefined);
    await worker.terminate();
  }

  #spawn(onReady?: () => void, onFail?: (err: Error) => void): void {
    const { eventsDir, dbPath, pollIntervalMs, statsIntervalMs } = this.#options;
    const workerData: ThreadOptions = { eventsDir, dbPath, pollIntervalMs, statsIntervalMs };
    const worker = new Worker(threadEntry('collector-thread', import.meta.url), {
      workerData,
      name: 'tollgate-collector',
    });
    this.#worker = worker;
    let ready = false;
    let readyAtMs = 0;
    worker.on('message', (m: FromThread) => {
      if (m.type === 'ready') {
        ready = true;
        readyAtMs = Date.now();
        this.#current = m.stats;
        if (this.#failuresInRow > 0)
          this.#options.logger?.info({ restarts: this.restarts }, 'collector: thread replaced; counting resumed');
        onReady?.();
      } else if (m.type === 'batch') {
        this.#current = m.stats;
        for (const listener of this.#listeners) listener({ source: '', records: 0, seconds: m.seconds });
      } else if (m.type === 'stats') {
        this.#current = m.stats;
      } else if (m.type === 'log') {
        writeThreadLog(this.#options.logger, m);
      } else this.#settle(m);
    });
    let failure: Error | undefined;
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll(new ReportsUnavailableError('The collector is restarting; try again in a moment.'));
      if (this.#stopping) return;
      const err = failure ?? new Error(`collector thread exited with code ${code}`);
      if (!ready && onFail) return onFail(err);
      if (ready && Date.now() - readyAtMs >= HEALTHY_RUN_MS) this.#failuresInRow = 0;
      this.#replace(err);
    });
  }

  /** A thread died: keep what it counted, and start another after a backoff that grows while replacements die too. */
  #replace(err: Error): void {
    for (const k of Object.keys(ZERO) as (keyof Counts)[]) this.#past[k] += this.#current[k];
    this.#current = { ...ZERO, lagBytes: this.#current.lagBytes };
    const delayMs = Math.min(MAX_RESTART_DELAY_MS, this.#options.restartDelayMs * 2 ** this.#failuresInRow);
    this.#failuresInRow++;
    this.restarts++;
    const log = this.#options.logger;
    (log?.error ?? log?.warn)?.call(
      log,
      { err: { message: err.message, stack: err.stack }, delay_ms: delayMs },
      'collector: thread died; replacing it',
    );
    this.#restartTimer = setTimeout(() => this.#spawn(), delayMs);
  }

  #call(request: ThreadRequest): Promise<unknown> {
    const worker = this.#worker;
    if (worker === undefined)
      return Promise.reject(new ReportsUnavailableError('The collector is restarting; try again in a moment.'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  }

  #settle(m: Extract<FromThread, { type: 'reply' }>): void {
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    if (m.error === undefined) p.resolve(m.value);
    else p.reject(new ReportsUnavailableError('The reports store could not answer.', { cause: new Error(m.error) }));
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
