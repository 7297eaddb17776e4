import { FRAME_HEADER_BYTES } from './frame.ts';

/**
 * Why `append` refused a record: `full` is the size bound (drop-newest), `backlog`
 * the bound on unwritten bytes, `io_error` a write the disk refused.
 */
export type DropReason = 'full' | 'backlog' | 'invalid_size' | 'closed' | 'io_error';

/** pino's Logger satisfies this. */
export interface WarnLogger {
  warn(details: object, message: string): void;
}

export interface SegmentLogOptions {
  /** A segment is closed and a new one begun before it would exceed this (default 64 MiB). */
  segmentBytes?: number;
  /** Bound on the bytes kept on disk plus in memory, consumed or not (default 1 GiB). */
  maxTotalBytes?: number;
  /** Written data is fsynced at most this long after its write (default 100); 0 writes and fsyncs every append at once.
   * */
  fsyncEveryMs?: number;
  /** A batch waits at most this long before it is written (default 5). */
  flushIntervalMs?: number;
  /** A batch this large is written at once (default 64 KiB). */
  flushBytes?: number;
  /** Bound on appended-but-unwritten bytes, for when the disk falls behind (default 16 MiB). */
  maxPendingBytes?: number;
  /** Largest record accepted (default 1 MiB, or what fits a segment); a reader's limit must not be lower. */
  maxRecordBytes?: number;
  /** Dropped records, coalesced: one call per reason at most every 10 ms, and at close. Must not throw. */
  onDrop?: (count: number, reason: DropReason) => void;
  /**
   * Called after each write with `writtenPosition` and `writingBase` as they now are (a consistent pair), and the
   * records written so far: how a reader on another thread learns where the written data ends. Must not throw.
   */
  onWritten?: (writtenPosition: number, writingBase: number, writtenRecords: number) => void;
  logger?: WarnLogger;
}

export type ResolvedOptions = Required<Omit<SegmentLogOptions, 'onDrop' | 'onWritten' | 'logger'>>;

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

const DEFAULTS: ResolvedOptions = {
  segmentBytes: 64 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
  fsyncEveryMs: 100,
  flushIntervalMs: 5,
  flushBytes: 64 * 1024,
  maxPendingBytes: 16 * 1024 * 1024,
  maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
};

export function resolveOptions(options: SegmentLogOptions): ResolvedOptions {
  const resolved = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ResolvedOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${key} must be a non-negative integer, got ${value}`);
    resolved[key] = value;
  }
  if (options.maxRecordBytes === undefined) {
    resolved.maxRecordBytes = Math.min(resolved.maxRecordBytes, resolved.segmentBytes - FRAME_HEADER_BYTES);
  }
  if (resolved.maxRecordBytes < 1 || resolved.segmentBytes < resolved.maxRecordBytes + FRAME_HEADER_BYTES) {
    throw new RangeError('segmentBytes must hold at least one frame of maxRecordBytes');
  }
  return resolved;
}
