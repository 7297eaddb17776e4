import { open } from 'node:fs/promises';
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
