/**
 * Counts gRPC's length-prefixed messages (a flag byte, a 4-byte big-endian length, the payload: gRPC's
 * HTTP/2 protocol document) in a byte stream however it is split into chunks. It reads the 5 prefix bytes
 * and skips payloads, so it never holds a message: the body still streams through untouched.
 */
export class GrpcMessageCounter {
  /** Messages whose prefix has been read whole (a message still arriving counts once its prefix is in). */
  count = 0;
  /** Payload bytes of the current message still to pass. */
  #skip = 0;
  /** Prefix bytes read of the next message, 0..4. */
  #prefix = 0;
  #length = 0;

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, n - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      const byte = chunk[i++];
      if (this.#prefix === 0) {
        this.#prefix = 1; // the compressed flag
        this.#length = 0;
        continue;
      }
      this.#length = this.#length * 256 + byte;
      if (++this.#prefix === 5) {
        this.count++;
        this.#prefix = 0;
        this.#skip = this.#length;
      }
    }
  }
}
