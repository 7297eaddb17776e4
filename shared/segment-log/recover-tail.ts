import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { checkpointOrZero } from './checkpoint.ts';
import { listSegments, segmentPath, syncDir } from './segment-files.ts';
import type { WarnLogger } from './segment-log-options.ts';
import { SegmentScanner } from './segment-scanner.ts';

export interface TailRecovery {
  /** Size of the segment after recovery: the end of its last trustworthy frame. */
  sizeBytes: number;
  /** Bytes cut off the end: a torn last record, or a damaged region nothing valid follows. */
  truncatedBytes: number;
}

/**
 * Makes the last segment of a log end on a frame boundary before the writer
 * appends again. A writer killed mid-write leaves a short frame, or (after a power
 * loss) a file extended with zeros or stale bytes; both are cut off. A frame with a
 * bad checksum is kept only when a good frame proves its length (the reader then
 * skips it); anything else damaged cuts the file there, exactly where a reader
 * without a writer would have stopped, so no reader ever saw a record past the cut.
 */
export async function recoverTail(path: string, maxRecordBytes: number): Promise<TailRecovery> {
  const handle = await open(path, 'r+');
  try {
    const sizeBytes = (await handle.stat()).size;
    const scanner = new SegmentScanner(handle, 0, sizeBytes, { maxRecordBytes, windowBytes: 1 << 20 });
    let goodEnd = sizeBytes;
    for (;;) {
      const frame = scanner.tryNext() ?? (await scanner.next());
      if (frame.kind === 'record') continue;
      if (frame.kind === 'end') break;
      if (frame.kind === 'bad_checksum') {
        const provenEnd = await scanner.provenEndOf(frame, false);
        if (provenEnd !== undefined) {
          scanner.offset = provenEnd;
          continue;
        }
      }
      goodEnd = frame.offset;
      break;
    }
    if (goodEnd < sizeBytes) {
      await handle.truncate(goodEnd);
      await handle.sync();
    }
    return { sizeBytes: goodEnd, truncatedBytes: sizeBytes - goodEnd };
  } finally {
    await handle.close();
  }
}

export interface OpenedForAppend {
  /** The segment appends go to, opened for writing. */
  handle: FileHandle;
  /** Its base: the position of its first byte. */
  base: number;
  /** The base of the oldest segment kept. */
  oldestBase: number;
  truncatedBytes: number;
}

/**
 * Opens or creates the log in `dir` for appending (SegmentLog.open). The last
 * segment is recovered (a torn tail is cut off, logged and counted) and
 * appends go to a fresh segment that starts no earlier than the consumer's
 * checkpoint, so a position is never reused.
 */
export async function openForAppend(
  dir: string,
  maxRecordBytes: number,
  logger?: WarnLogger,
): Promise<OpenedForAppend> {
  await mkdir(dir, { recursive: true });
  const bases = await listSegments(dir);
  let end = 0;
  let lastSizeBytes = -1;
  let truncatedBytes = 0;
  const last = bases.at(-1);
  if (last !== undefined) {
    const recovery = await recoverTail(segmentPath(dir, last), maxRecordBytes);
    lastSizeBytes = recovery.sizeBytes;
    truncatedBytes = recovery.truncatedBytes;
    end = last + recovery.sizeBytes;
    if (truncatedBytes > 0) {
      logger?.warn({ dir, segmentBase: last, truncatedBytes }, 'segment log: cut a torn tail off the last segment');
    }
  }
  const base = Math.max(end, await checkpointOrZero(dir, logger));
  const reuse = last === base && lastSizeBytes === 0;
  const handle = await open(segmentPath(dir, base), reuse ? 'r+' : 'w');
  if (!reuse) await syncDir(dir);
  return { handle, base, oldestBase: bases[0] ?? base, truncatedBytes };
}
