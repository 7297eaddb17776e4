import { writevSync } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A segment is named by the log position of its first byte, zero-padded to 20
 * digits, so lexical order is log order and any safe integer fits.
 */
const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentPath(dir: string, basePosition: number): string {
  return join(dir, `${String(basePosition).padStart(20, '0')}.seg`);
}

/** Base positions of the segments in `dir`, oldest first; [] when there are none. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .map((name) => SEGMENT_NAME.exec(name))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
}

/** A created, renamed or deleted file survives a power loss only once its directory is synced. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The index of the segment holding `position`: the last base <= position, or -1. */
export function segmentIndexFor(bases: readonly number[], position: number): number {
  let low = 0;
  let high = bases.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (bases[middle] <= position) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** Writes every buffer at `position`: one writev, repeated only after a short write. */
export async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let remaining = buffers;
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } = await handle.writev(remaining, at);
    at += bytesWritten;
    remaining = unwritten(remaining, bytesWritten);
  }
}

/** writeAll on the calling thread: for a few KB bound for the page cache, cheaper than a trip to libuv's pool. */
export function writeAllSync(fd: number, buffers: Buffer[], position: number): void {
  let remaining = buffers;
  let at = position;
  while (remaining.length > 0) {
    const bytesWritten = writevSync(fd, remaining, at);
    at += bytesWritten;
    remaining = unwritten(remaining, bytesWritten);
  }
}

function unwritten(buffers: Buffer[], bytesWritten: number): Buffer[] {
  let remaining = buffers;
  let skip = bytesWritten;
  while (remaining.length > 0 && skip >= remaining[0].length) {
    skip -= remaining[0].length;
    remaining = remaining.slice(1);
  }
  if (skip > 0) remaining = [remaining[0].subarray(skip), ...remaining.slice(1)];
  return remaining;
}
