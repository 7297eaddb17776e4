import type { FileHandle } from 'node:fs/promises';
import { FRAME_HEADER_BYTES, checksumMatches } from './frame.ts';

/** What lies at one offset of a segment. Offsets are bytes from the start of the segment file. */
export type ScannedFrame =
  | { kind: 'record'; offset: number; payload: Buffer }
  /** Nothing more before the end of the readable region. */
  | { kind: 'end'; offset: number }
  /** The frame runs past the end of the region: torn, or not yet written. */
  | { kind: 'incomplete'; offset: number }
  /** Length 0 or above the limit: the frame's extent is unknown, so nothing after it can be trusted. */
  | { kind: 'bad_header'; offset: number }
  /** A complete frame whose payload fails its CRC; `nextOffset` is where its header says it ends. */
  | { kind: 'bad_checksum'; offset: number; nextOffset: number };

export interface ScannerOptions {
  maxRecordBytes: number;
  /** Bytes read per disk read; a larger frame is read whole. */
  windowBytes: number;
}

/**
 * Walks the frames of one segment file up to `end`, reading it in windows.
 * Each window is a fresh buffer, so the payloads it returns stay valid (they are
 * views into it, not copies). Bytes before `end` must not change while scanning.
 */
export class SegmentScanner {
  readonly #handle: FileHandle;
  readonly #options: ScannerOptions;
  #end: number;
  #window: Buffer = Buffer.alloc(0);
  #windowStart = 0;
  offset: number;

  constructor(handle: FileHandle, offset: number, end: number, options: ScannerOptions) {
    this.#handle = handle;
    this.#options = options;
    this.offset = offset;
    this.#end = end;
  }

  get end(): number {
    return this.#end;
  }

  /** Lets one scanner follow a growing file; the cached window stays valid because written bytes never change. */
  setEnd(end: number): void {
    this.#end = end;
  }

  /** For a file being written by someone we cannot ask: bytes read near its end may have been mid-write. */
  forgetWindow(): void {
    this.#window = Buffer.alloc(0);
    this.#windowStart = 0;
  }

  /** Examines the frame at `offset`; moves past it only when it is a good record. */
  async next(): Promise<ScannedFrame> {
    for (;;) {
      const frame = this.tryNext();
      if (frame !== undefined) return frame;
      const header = this.#peek(this.offset, FRAME_HEADER_BYTES);
      const frameBytes = header === undefined ? FRAME_HEADER_BYTES : FRAME_HEADER_BYTES + header.readUInt32LE(0);
      await this.#load(this.offset, frameBytes);
    }
  }

  /**
   * `next` without a promise when the frame is already in the window: one await per
   * record would dominate reading wherever async hooks are on (tracing, the test runner).
   */
  tryNext(): ScannedFrame | undefined {
    const offset = this.offset;
    if (offset >= this.#end) return { kind: 'end', offset };
    if (offset + FRAME_HEADER_BYTES > this.#end) return { kind: 'incomplete', offset };
    // The header is read where it lies in the window: no view is made for it.
    const at = offset - this.#windowStart;
    const window = this.#window;
    if (at < 0 || at + FRAME_HEADER_BYTES > window.length) return undefined;
    const payloadBytes = window.readUInt32LE(at);
    const checksum = window.readUInt32LE(at + 4);
    if (payloadBytes === 0 || payloadBytes > this.#options.maxRecordBytes) return { kind: 'bad_header', offset };
    const nextOffset = offset + FRAME_HEADER_BYTES + payloadBytes;
    if (nextOffset > this.#end) return { kind: 'incomplete', offset };
    if (at + FRAME_HEADER_BYTES + payloadBytes > window.length) return undefined;
    const payload = window.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + payloadBytes);
    if (!checksumMatches(payload, checksum)) return { kind: 'bad_checksum', offset, nextOffset };
    this.offset = nextOffset;
    return { kind: 'record', offset, payload };
  }

  /**
   * Where a frame with a bad checksum provably ends, or undefined. Its length is
   * trusted only when a good frame starts right after it, or when it ends exactly
   * at `end` and `end` is known to be a write boundary (a sealed segment, or what
   * the writer reports written). A random length passing either test by chance
   * needs a 32-bit CRC collision.
   */
  async provenEndOf(
    frame: { offset: number; nextOffset: number },
    endIsWriteBoundary: boolean,
  ): Promise<number | undefined> {
    if (frame.nextOffset === this.#end) return endIsWriteBoundary ? frame.nextOffset : undefined;
    const saved = this.offset;
    this.offset = frame.nextOffset;
    const following = await this.next();
    this.offset = saved;
    return following.kind === 'record' ? frame.nextOffset : undefined;
  }

  #peek(offset: number, bytes: number): Buffer | undefined {
    const start = offset - this.#windowStart;
    if (start < 0 || start + bytes > this.#window.length) return undefined;
    return this.#window.subarray(start, start + bytes);
  }

  /** Reads a fresh window at `offset`: at least `bytes` (cut at the end), usually windowBytes. */
  async #load(offset: number, bytes: number): Promise<void> {
    const size = Math.min(Math.max(bytes, this.#options.windowBytes), this.#end - offset);
    const window = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await this.#handle.read(window, filled, size - filled, offset + filled);
      if (bytesRead === 0)
        throw new Error(`segment shrank while being read: wanted ${size} bytes at ${offset}, got ${filled}`);
      filled += bytesRead;
    }
    this.#window = window;
    this.#windowStart = offset;
  }
}
