import { FrameHeaders } from '../net/frame-headers.ts';

/**
 * Counts gRPC's length-prefixed messages (a flag byte, a 4-byte big-endian length, the payload: gRPC's
 * HTTP/2 protocol document) in a byte stream however it is split into chunks. It reads the 5 prefix bytes
 * and skips payloads, so it never holds a message: the body still streams through untouched.
 */
export class GrpcMessageCounter extends FrameHeaders {
  /** Messages whose prefix has been read whole (a message still arriving counts once its prefix is in). */
  count = 0;
  /** Prefix bytes read of the next message, 0..4. */
  #prefix = 0;
  #length = 0;

  protected headerByte(byte: number): number | undefined {
    if (this.#prefix === 0) {
      this.#prefix = 1; // the compressed flag
      this.#length = 0;
      return undefined;
    }
    this.#length = this.#length * 256 + byte;
    if (++this.#prefix < 5) return undefined;
    this.count++;
    this.#prefix = 0;
    return this.#length;
  }
}
