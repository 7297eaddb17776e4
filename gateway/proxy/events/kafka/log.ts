import { FRAME_HEADER_BYTES } from '../../../../shared/segment-log/frame.ts';
import type { WarnLogger } from '../../../../shared/segment-log/segment-log.ts';
import { SegmentReader } from '../../../../shared/segment-log/segment-reader.ts';
import type { SharedState, WriterView } from './shared-state.ts';

export interface LogBatch {
  /** Fresh buffers, never reused, so a send may hold them. */
  records: Buffer[];
  next: number;
}

// An encoded AccessEvent is at most ~37 KB (nine strings capped at 4 KiB each).
export const MAX_RECORD_BYTES = 64 * 1024;
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
// The checkpoint is written at most this often: a crash resends at most this much already
// delivered (the collector counts each event id once), where a checkpoint per batch cost two
// fsyncs and a directory listing per batch on libuv's pool.
const CHECKPOINT_EVERY_MS = 1000;

/** Segments of a sixteenth of the bound, so what was sent is freed in small steps. */
export function segmentBytesFor(maxBytes: number): number {
  return Math.min(MAX_SEGMENT_BYTES, Math.max(MAX_RECORD_BYTES + FRAME_HEADER_BYTES, Math.floor(maxBytes / 16)));
}

/**
 * The sender's side of the Kafka sink's write-ahead log: every event, in emission order, in a segment log
 * written by the proxy thread (which publishes where the written data ends in `SharedState`). Everything from
 * `readPosition` to the written end is unsent; the checkpoint (written once a second, at once when a previous
 * run's backlog is delivered, and only for what Kafka acknowledged) is where a restarted sender resumes, so a
 * crash resends at most the last second of delivered events (at-least-once), never skips one.
 */
export class KafkaLogReader {
  readonly #reader: SegmentReader;
  readonly #state: SharedState;
  readonly #logger: WarnLogger | undefined;
  /** The writer as the reader's current read sees it: one consistent snapshot per read. */
  readonly #writer: WriterView;
  /** Where unsent records start; the checkpoint trails it by the commits not yet durable. */
  #readPosition: number;
  /** Records found by `countUnsent` stop here: later ones are counted from the writer's count. */
  readonly #openEnd: number;
  readonly #writtenAtStart: number;
  #backlog = 0;
  #delivered = 0;
  #commits: Promise<void> = Promise.resolve();
  #commitTimer: NodeJS.Timeout | undefined;

  /** `noteOldestSegment` tells the writer which segments retention deleted, so their room is usable at once. */
  static async open(
    dir: string,
    state: SharedState,
    noteOldestSegment: (base: number) => void,
    logger?: WarnLogger,
  ): Promise<KafkaLogReader> {
    // The reader's view of the writer: refreshed from `state` before each read (#snapshot).
    const writer = { ...state.writer(), noteOldestSegment };
    const reader = await SegmentReader.open(dir, { log: writer, maxRecordBytes: MAX_RECORD_BYTES, logger });
    return new KafkaLogReader(reader, state, writer, logger);
  }

  private constructor(reader: SegmentReader, state: SharedState, writer: WriterView, logger?: WarnLogger) {
    this.#reader = reader;
    this.#state = state;
    this.#writer = writer;
    this.#logger = logger;
    this.#readPosition = reader.committed;
    this.#openEnd = writer.writtenPosition;
    this.#writtenAtStart = writer.writtenRecords;
    state.publishStart(this.#readPosition);
  }

  /** True while some written record has not been acknowledged by Kafka. */
  get pending(): boolean {
    return this.#readPosition < this.#state.writer().writtenPosition;
  }

  get unsentEvents(): number {
    const written = this.#state.writer().writtenRecords - this.#writtenAtStart;
    return Math.max(0, this.#backlog + written - this.#delivered);
  }

  get readPosition(): number {
    return this.#readPosition;
  }

  /**
   * Counts the unsent records a previous run left, for the spool_events gauge.
   * Reads everything once; `stop()` true ends it early (the gauge then reads low).
   */
  async countUnsent(stop: () => boolean): Promise<void> {
    let position = this.#readPosition;
    while (position < this.#openEnd && !stop()) {
      this.#snapshot();
      const { records, next } = await this.#reader.read(position, 4096);
      for (const record of records) if (record.position < this.#openEnd) this.#backlog += 1;
      if (records.length === 0 || next <= position) break;
      position = next;
    }
    this.#state.publishBacklog(this.#backlog, this.#writtenAtStart);
  }

  /**
   * The oldest unsent records: at most `maxRecords` of at most `maxBytes` together (but at
   * least one); only records already in the log file are read.
   */
  async read(maxRecords: number, maxBytes: number): Promise<LogBatch> {
    this.#snapshot();
    const writtenBefore = this.#writer.writtenPosition;
    const { records, next } = await this.#reader.read(this.#readPosition, maxRecords);
    if (records.length > 0) {
      let count = 0;
      let bytes = 0;
      while (count < records.length && (count === 0 || bytes + records[count].payload.length <= maxBytes))
        bytes += records[count++].payload.length;
      const rest = records[count];
      return {
        records: records.slice(0, count).map((r) => r.payload),
        next: rest === undefined ? next : rest.position,
      };
    }
    // Nothing readable up to the written end: gaps or damage the reader stepped over (and logged).
    const end = next > this.#readPosition ? next : writtenBefore;
    if (end > this.#readPosition) this.#advance(end, 0);
    return { records: [], next: this.#readPosition };
  }

  /** Kafka acknowledged the records before `next`: a restart resends at most the last second of them. */
  delivered(next: number, count: number): void {
    this.#advance(next, count);
  }

  /** Writes the last checkpoint and closes the files. */
  async close(): Promise<void> {
    this.#commit();
    await this.#commits;
    await this.#reader.close();
  }

  /** The writer's end as one consistent pair, for the read about to start. */
  #snapshot(): void {
    Object.assign(this.#writer, this.#state.writer());
  }

  #advance(position: number, count: number): void {
    // What a previous run left is resent after a restart until a checkpoint passes it: once it is delivered, the
    // checkpoint goes at once, or a gateway that keeps being killed within a second resends it every time.
    const backlogDone = this.#readPosition < this.#openEnd && position >= this.#openEnd;
    this.#readPosition = position;
    this.#delivered += count;
    this.#state.publishDelivered(position, this.#delivered);
    if (backlogDone) this.#commit();
    else this.#commitTimer ??= setTimeout(() => this.#commit(), CHECKPOINT_EVERY_MS).unref();
  }

  /** Commits run in order off the send path; a failed one only means a resend after a restart. */
  #commit(): void {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    const position = this.#readPosition;
    if (position <= this.#reader.committed) return;
    this.#commits = this.#commits
      .then(() => this.#reader.commit(position))
      .catch((error: unknown) =>
        this.#logger?.warn(
          { err: error, position },
          'kafka log: checkpoint not written; a restart resends those events',
        ),
      );
  }
}
