import { open, unlink, type FileHandle } from 'node:fs/promises';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { listSegments, segmentIndexFor, segmentPath } from './segment-files.ts';
import { DEFAULT_MAX_RECORD_BYTES, type WarnLogger } from './segment-log-options.ts';
import { SegmentScanner } from './segment-scanner.ts';

export interface SegmentReaderOptions {
  /**
   * The writer, when it runs in this process: reads stop at its `writtenPosition`,
   * and retention tells it what space was freed. Without it, reads go to the end of
   * the files and stop at a damaged tail of the last segment, which may still be
   * being written (the writer's next open cuts it off if it stays damaged).
   */
  log?: { readonly writtenPosition: number; readonly writingBase: number; noteOldestSegment(base: number): void };
  /** At least the writer's maxRecordBytes (default 1 MiB); longer frames are damage. */
  maxRecordBytes?: number;
  /** Bytes per disk read (default 1 MiB). */
  readWindowBytes?: number;
  logger?: WarnLogger;
}

export interface LogRecord {
  /** Where the record's frame starts; a byte offset across the whole log. */
  position: number;
  /** A view into a read buffer; copy it to keep it long. */
  payload: Buffer;
}

export interface ReadResult {
  records: LogRecord[];
  /** Where to read (and, once these records are handled, commit) next. */
  next: number;
}

/** Called for each record in log order; `payload` is a view into a read buffer, valid until the next read. */
export type RecordVisitor = (payload: Buffer, position: number) => void;

export interface VisitResult {
  /** Records visited. */
  count: number;
  /** Where to read (and, once these records are handled, commit) next. */
  next: number;
}

interface OpenSegment {
  base: number;
  handle: FileHandle;
  scanner: SegmentScanner;
}

/**
 * Reads a segment log and keeps the single consumer's checkpoint. Never returns a
 * torn record or one whose CRC fails. A damaged record whose length is proven by the
 * next good frame is skipped and counted; damage whose extent cannot be proven
 * quarantines the rest of that segment: the reader counts the bytes, logs them and
 * goes on at the next segment (or, in the segment being written, at the written end).
 */
export class SegmentReader {
  readonly dir: string;
  readonly stats = { skippedRecords: 0, quarantinedBytes: 0, deletedSegments: 0 };
  readonly #options: Required<Omit<SegmentReaderOptions, 'log' | 'logger'>>;
  readonly #log: SegmentReaderOptions['log'];
  readonly #logger: WarnLogger | undefined;
  #bases: number[] = [];
  #segment: OpenSegment | undefined;
  #committed: number;
  #commits: Promise<void> = Promise.resolve();

  /** Opens the reader at its checkpoint, or at the oldest segment when nothing was committed. */
  static async open(dir: string, options: SegmentReaderOptions = {}): Promise<SegmentReader> {
    const bases = await listSegments(dir);
    const committed = (await readCheckpoint(dir)) ?? bases[0] ?? 0;
    const reader = new SegmentReader(dir, options, committed);
    reader.#bases = bases;
    return reader;
  }

  private constructor(dir: string, options: SegmentReaderOptions, committed: number) {
    this.dir = dir;
    this.#options = {
      maxRecordBytes: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      readWindowBytes: options.readWindowBytes ?? 1024 * 1024,
    };
    this.#log = options.log;
    this.#logger = options.logger;
    this.#committed = committed;
  }

  /** The position a restarted consumer resumes from. */
  get committed(): number {
    return this.#committed;
  }

  /** Up to `maxRecords` records from `from`, in log order. One read at a time. */
  async read(from: number, maxRecords: number): Promise<ReadResult> {
    const records: LogRecord[] = [];
    const { next } = await this.visit(from, maxRecords, (payload, position) => records.push({ position, payload }));
    return { records, next };
  }

  /**
   * read() for a consumer that handles each record as it comes: nothing is kept per record, so a batch leaves
   * no garbage that outlives it (the embedded collector's thread holds a steady heap this way).
   */
  async visit(from: number, maxRecords: number, onRecord: RecordVisitor): Promise<VisitResult> {
    const counted = { n: 0 };
    let position = from;
    let listed = false;
    let missingBase: number | undefined;
    while (counted.n < maxRecords) {
      const index = segmentIndexFor(this.#bases, position);
      if (index < 0 || index === this.#bases.length - 1) {
        if (!listed) {
          // Retention or a rotation may have changed the files since the last listing.
          this.#bases = await listSegments(this.dir);
          listed = true;
          continue;
        }
        if (this.#bases.length === 0) break;
        // Before the oldest segment: those records were consumed and deleted.
        if (index < 0) {
          position = this.#bases[0];
          continue;
        }
      }
      const base = this.#bases[index];
      const successor = this.#bases[index + 1];
      const segment = await this.#openSegment(base);
      if (segment === undefined) {
        if (missingBase === base)
          throw new Error(`segment ${segmentPath(this.dir, base)} is listed but cannot be opened`);
        missingBase = base;
        this.#bases = await listSegments(this.dir);
        listed = true;
        continue;
      }
      const sealed = successor !== undefined;
      // The segment the writer beside us is writing ends where it says it wrote: a size read while a write runs can
      // end mid-frame (the file grows page by page), and that frame would be taken for damage
      // (segment-reader-race.test.ts). Any other segment is complete, and ends at its size.
      const writing = this.#log !== undefined && this.#log.writingBase === base;
      segment.scanner.setEnd(writing ? this.#log!.writtenPosition - base : (await segment.handle.stat()).size);
      if (this.#log === undefined) segment.scanner.forgetWindow();
      segment.scanner.offset = position - base;
      const atEnd = await this.#scan(segment, sealed || this.#log !== undefined, onRecord, counted, maxRecords);
      position = base + segment.scanner.offset;
      if (!atEnd) break;
      if (sealed) position = Math.max(position, successor);
      else if (listed) break;
    }
    return { count: counted.n, next: position };
  }

  /**
   * Durably records that everything before `position` is handled, then deletes the
   * segments wholly before it (never the last one), which frees room under the
   * writer's bound. Commits are applied in call order and may not go backwards.
   */
  commit(position: number): Promise<void> {
    const task = this.#commits.then(async () => {
      if (position < this.#committed) throw new RangeError(`commit went backwards: ${position} < ${this.#committed}`);
      await writeCheckpoint(this.dir, position);
      this.#committed = position;
      await this.#deleteConsumed(position);
    });
    this.#commits = task.catch(() => undefined);
    return task;
  }

  async close(): Promise<void> {
    await this.#commits;
    await this.#segment?.handle.close();
    this.#segment = undefined;
  }

  /** Hands good records to onRecord; true when the readable end of the segment was reached. */
  async #scan(
    segment: OpenSegment,
    endIsWriteBoundary: boolean,
    onRecord: RecordVisitor,
    counted: { n: number },
    maxRecords: number,
  ): Promise<boolean> {
    const scanner = segment.scanner;
    while (counted.n < maxRecords) {
      const frame = scanner.tryNext() ?? (await scanner.next());
      if (frame.kind === 'record') {
        counted.n++;
        onRecord(frame.payload, segment.base + frame.offset);
        continue;
      }
      if (frame.kind === 'end') return true;
      if (frame.kind === 'bad_checksum') {
        const provenEnd = await scanner.provenEndOf(frame, endIsWriteBoundary);
        if (provenEnd !== undefined) {
          this.stats.skippedRecords += 1;
          this.#logger?.warn(
            { dir: this.dir, position: segment.base + frame.offset },
            'segment log: skipped a record whose checksum failed',
          );
          scanner.offset = provenEnd;
          continue;
        }
      }
      // Not provably a whole frame. Unbounded and in the last segment, it may still be being written.
      if (!endIsWriteBoundary) return true;
      const quarantinedBytes = scanner.end - frame.offset;
      this.stats.quarantinedBytes += quarantinedBytes;
      this.#logger?.warn(
        { dir: this.dir, position: segment.base + frame.offset, quarantinedBytes, damage: frame.kind },
        'segment log: quarantined the rest of a damaged segment',
      );
      scanner.offset = scanner.end;
      return true;
    }
    return false;
  }

  /** undefined when retention (another reader instance) deleted the segment since the listing. */
  async #openSegment(base: number): Promise<OpenSegment | undefined> {
    if (this.#segment?.base === base) return this.#segment;
    await this.#segment?.handle.close();
    this.#segment = undefined;
    let handle: FileHandle;
    try {
      handle = await open(segmentPath(this.dir, base), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const scanner = new SegmentScanner(handle, 0, 0, {
      maxRecordBytes: this.#options.maxRecordBytes,
      windowBytes: this.#options.readWindowBytes,
    });
    this.#segment = { base, handle, scanner };
    return this.#segment;
  }

  async #deleteConsumed(position: number): Promise<void> {
    const bases = await listSegments(this.dir);
    let kept = 0;
    while (kept < bases.length - 1 && bases[kept + 1] <= position) {
      await unlink(segmentPath(this.dir, bases[kept])).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      this.stats.deletedSegments += 1;
      kept += 1;
    }
    if (kept > 0) this.#log?.noteOldestSegment(bases[kept]);
  }
}
