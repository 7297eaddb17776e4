import { crc32 } from 'node:zlib';

/**
 * A record on disk is `u32 payloadBytes | u32 crc32(payload) | payload`, little-endian.
 * Empty payloads are not allowed: a zero-filled tail (a file extended but never written,
 * as a crash can leave it) would otherwise read as a valid frame, since crc32 of nothing is 0.
 */
export const FRAME_HEADER_BYTES = 8;

/** Writes one frame at `offset` of `target` and returns the offset just past it. */
export function writeFrame(target: Buffer, offset: number, payload: Buffer): number {
  target.writeUInt32LE(payload.length, offset);
  target.writeUInt32LE(crc32(payload), offset + 4);
  payload.copy(target, offset + FRAME_HEADER_BYTES);
  return offset + FRAME_HEADER_BYTES + payload.length;
}

export function checksumMatches(payload: Buffer, expected: number): boolean {
  return crc32(payload) === expected;
}

/** Frames waiting to be written, all bound for one segment, contiguous from `position`. */
export interface Batch {
  segmentBase: number;
  position: number;
  buffer: Buffer;
  usedBytes: number;
  records: number;
}

/** The filled part of each batch, for one writev. */
export function framesOf(batches: readonly Batch[]): Buffer[] {
  return batches.map((b) => b.buffer.subarray(0, b.usedBytes));
}
