import { FRAME_HEADER_BYTES } from '../../../../shared/segment-log/frame.ts';
import { SegmentLog, type DropReason, type WarnLogger } from '../../../../shared/segment-log/segment-log.ts';
import { SegmentReader, type LogRecord } from '../../../../shared/segment-log/segment-reader.ts';

export interface KafkaLogOptions {
  /** Disk bound: segments kept plus the unwritten batch. Past it the newest event is dropped. */
  maxBytes: number;
  /** Dropped records, coalesced (see SegmentLog's onDrop). Must not throw. */
  onDrop: (count: number, reason: DropReason) => void;
  logger?: WarnLogger;
}

export interface LogBatch {
  /** Fresh buffers (read from the log, or the encoded events of the tail), never reused, so a send may hold them. */
  records: Buffer[];
  next: number;
}

// An encoded AccessEvent is at most ~37 KB (nine strings capped at 4 KiB each).
const MAX_RECORD_BYTES = 64 * 1024;
// Unsent records this process appended are also kept in memory, up to this many bytes, so a
// sender that keeps up sends from memory and never reads the log back; one that falls behind
// reads the disk until it has caught up.
const MAX_TAIL_BYTES = 4 * 1024 * 1024;
// The checkpoint is written at most this often: a crash resends at most this much already
// delivered (the collector counts each event id once), where a checkpoint per batch cost two
// fsyncs and a directory listing per batch on libuv's pool.
const CHECKPOINT_EVERY_MS = 1000;
// Appended but not yet written: the disk falling this far behind drops events as `backlog`.
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * The Kafka sink's write-ahead log: every event, in emission order, in a segment
 * log whose single consumer is the sink's sender. Everything from `readPosition`
 * to the end is unsent; the checkpoint (written once a second, at once when a previous
 * run's backlog is delivered, and only for what Kafka acknowledged) is where a restarted
 * gateway resumes, so a crash resends at most the last second of delivered events
 * (at-least-once), never skips one.
 */
export class KafkaLog {
  readonly #log: SegmentLog;
  readonly #reader: SegmentReader;
  /** Where unsent records start; the checkpoint trails it by the commits not yet durable. */
  #readPosition: number;
  /** Records found by `countUnsent` stop here: later ones were counted as they were appended. */
  readonly #openEnd: number;
  #unsentEvents = 0;
  #commits: Promise<void> = Promise.resolve();
  #commitTimer: NodeJS.Timeout | undefined;
  readonly #logger: WarnLogger | undefined;
  /** Unsent records appended by this process, contiguous from `readPosition`; empty while the sender reads the disk. */
  #tail: LogRecord[] = [];
  #tailBytes = 0;

  static async open(dir: string, options: KafkaLogOptions): Promise<KafkaLog> {
    // Segments of a sixteenth of the bound, so what was sent is freed in small steps.
    const segmentBytes = Math.min(
      MAX_SEGMENT_BYTES,
      Math.max(MAX_RECORD_BYTES + FRAME_HEADER_BYTES, Math.floor(options.maxBytes / 16)),
    );
    let wal: KafkaLog | undefined;
    const log = await SegmentLog.open(dir, {
      maxTotalBytes: options.maxBytes,
      segmentBytes,
      maxRecordBytes: MAX_RECORD_BYTES,
      maxPendingBytes: MAX_PENDING_BYTES,
      logger: options.logger,
      onDrop: (count, reason) => {
        // A disk error drops records that were accepted (and counted as unsent); the reader goes by the disk again.
        if (reason === 'io_error' && wal) {
          wal.#unsentEvents = Math.max(0, wal.#unsentEvents - count);
          wal.#dropTail();
        }
        options.onDrop(count, reason);
      },
    });
    const reader = await SegmentReader.open(dir, { log, maxRecordBytes: MAX_RECORD_BYTES, logger: options.logger });
    wal = new KafkaLog(log, reader, options);
    return wal;
  }

  private constructor(log: SegmentLog, reader: SegmentReader, options: KafkaLogOptions) {
    this.#log = log;
    this.#reader = reader;
    this.#logger = options.logger;
    this.#readPosition = reader.committed;
    this.#openEnd = log.endPosition;
  }

  /** True while some appended record has not been acknowledged by Kafka. */
  get pending(): boolean {
    return this.#readPosition < this.#log.endPosition;
  }

  get unsentBytes(): number {
    return Math.max(0, this.#log.endPosition - this.#readPosition);
  }

  get unsentEvents(): number {
    return this.#unsentEvents;
  }

  get endPosition(): number {
    return this.#log.endPosition;
  }

  get readPosition(): number {
    return this.#readPosition;
  }

  /** The writer's counters: `written` records survive a SIGKILL (they are in the page cache). */
  get stats(): Readonly<SegmentLog['stats']> {
    return this.#log.stats;
  }

  /**
   * False when dropped; the drop reaches `onDrop` (so it is counted and logged).
   * `written` runs once the record is in the segment file, or at once when dropped.
   */
  append(record: Buffer, written?: () => void): boolean {
    const position = this.#log.endPosition;
    if (!this.#log.append(record, written)) return false;
    this.#unsentEvents += 1;
    // Kept while the tail reaches back to the oldest unsent record and has room; else the sender reads the disk.
    const contiguous = this.#tail.length > 0 || position === this.#readPosition;
    if (contiguous && this.#tailBytes + record.length <= MAX_TAIL_BYTES) {
      // A copy: the caller's record may be a view the codec overwrites with the next event.
      this.#tail.push({ position, payload: Buffer.from(record) });
      this.#tailBytes += record.length;
    } else if (this.#tail.length > 0) {
      this.#dropTail();
    }
    return true;
  }

  /**
   * Counts the unsent records a previous run left, for the spool_events gauge.
   * Reads everything once; `stop()` true ends it early (the gauge then reads low).
   */
  async countUnsent(stop: () => boolean): Promise<void> {
    let position = this.#readPosition;
    while (position < this.#openEnd && !stop()) {
      const { records, next } = await this.#reader.read(position, 4096);
      for (const record of records) if (record.position < this.#openEnd) this.#unsentEvents += 1;
      if (records.length === 0 || next <= position) break;
      position = next;
    }
  }

  /**
   * The oldest unsent records: at most `maxRecords` of at most `maxBytes` together (but at
   * least one); only records already in the log file are sent.
   */
  async read(maxRecords: number, maxBytes: number): Promise<LogBatch> {
    // Only when nothing unsent is written yet: under load something appended is nearly always waiting for
    // its turn's group commit, and a forced write here sent the group commits after it down the asynchronous
    // path (5% of the proxy thread's busy time against 0.5%, --cpu-prof under wrk).
    const written = this.#log.writtenPosition;
    if (written <= this.#readPosition && written < this.#log.endPosition) await this.#log.flush();
    if (this.#tail.length > 0) return this.#readTail(maxRecords, maxBytes);
    // Taken before reading: what is written while the read runs was not looked at.
    const writtenBefore = this.#log.writtenPosition;
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

  /** Writes and fsyncs what was appended, writes the last checkpoint, closes the files. */
  async close(): Promise<void> {
    await this.#log.close();
    this.#commit();
    await this.#commits;
    await this.#reader.close();
  }

  #readTail(maxRecords: number, maxBytes: number): LogBatch {
    const tail = this.#tail;
    const written = this.#log.writtenPosition;
    let count = 0;
    let bytes = 0;
    while (count < tail.length && count < maxRecords && tail[count].position < written) {
      if (count > 0 && bytes + tail[count].payload.length > maxBytes) break;
      bytes += tail[count++].payload.length;
    }
    if (count === 0) return { records: [], next: this.#readPosition };
    const last = tail[count - 1];
    return {
      records: tail.slice(0, count).map((r) => r.payload),
      next: last.position + FRAME_HEADER_BYTES + last.payload.length,
    };
  }

  #dropTail(): void {
    this.#tail = [];
    this.#tailBytes = 0;
  }

  #advance(position: number, count: number): void {
    // What a previous run left is resent after a restart until a checkpoint passes it: once it is delivered, the
    // checkpoint goes at once, or a gateway that keeps being killed within a second resends it every time.
    const backlogDone = this.#readPosition < this.#openEnd && position >= this.#openEnd;
    this.#readPosition = position;
    this.#unsentEvents = Math.max(0, this.#unsentEvents - count);
    let sent = 0;
    while (sent < this.#tail.length && this.#tail[sent].position < position)
      this.#tailBytes -= this.#tail[sent++].payload.length;
    if (sent > 0) this.#tail.splice(0, sent);
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
