/**
 * Follows a stream of frames that each begin with a header saying their payload's length, split into chunks
 * anywhere: header bytes are handed to the subclass one at a time, payloads are skipped, never held. The
 * skeleton of gRPC's message counter (grpc/messages.ts) and the WebSocket frame tracker (websocket/frames.ts).
 */
export abstract class FrameHeaders {
  /** Payload bytes of the current frame still to pass. */
  #skip = 0;

  /** Inside a payload, as opposed to between frames or in a header. */
  protected get inPayload(): boolean {
    return this.#skip > 0;
  }

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
      const length = this.headerByte(chunk[i++]);
      if (length !== undefined) this.#skip = length;
    }
  }

  /** One more byte of the current header; the payload's length once the header is whole, else undefined. */
  protected abstract headerByte(byte: number): number | undefined;
}
