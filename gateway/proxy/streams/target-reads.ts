/**
 * A plaintext target's bytes read into a buffer the connection keeps (net's `onread`) and written on to the
 * client as they come. Node otherwise reads each chunk into a new 64 KB buffer, and that garbage, counted as
 * external memory, makes V8 run a full mark-compact every 64 MB or so, whose cost grows with the gateway's heap:
 * at ~7 Gbit/s that was ~15 a second and the difference between Tollgate and a bare Node pipe
 * (`npm run bench -- --tcp`; docs/tcp.md, "Speed"). A write the client's socket could not finish at once still
 * holds the buffer: the next read then goes to a new one.
 */
import type { Writable } from 'node:stream';

/** Where the bytes go; false pauses the target until the client drains. */
export type Deliver = (chunk: Buffer) => boolean;

/**
 * A connection's first reads go to a small slice of Node's shared buffer pool, so a short connection allocates
 * nothing of its own; a read that fills it moves the connection to a buffer of `sizeBytes`.
 */
const FIRST_BYTES = 2048;

export class TargetReads {
  readonly #size: number;
  #buffer = Buffer.allocUnsafe(FIRST_BYTES);
  #deliver: Deliver;
  /** Copies of what came before `pipeTo` (a target that spoke at once): handed over first. */
  #early: Buffer[] = [];

  constructor(sizeBytes: number) {
    this.#size = sizeBytes;
    this.#deliver = (chunk) => {
      this.#early.push(Buffer.from(chunk));
      return true;
    };
  }

  /** For net.connect: the buffer of the next read (Node asks after each one), and what a read delivers. */
  readonly onread = {
    buffer: (): Buffer => this.#buffer,
    callback: (bytes: number, buffer: Buffer): boolean => {
      const more = this.#deliver(buffer.subarray(0, bytes));
      if (bytes === buffer.length && buffer.length < this.#size) this.#buffer = Buffer.allocUnsafeSlow(this.#size);
      return more;
    },
  };

  /** From now on each read is delivered (those that came before first, in order). */
  pipeTo(deliver: Deliver): void {
    for (const chunk of this.#early) deliver(chunk);
    this.#early = [];
    this.#deliver = deliver;
  }

  /** After a read was written to `to`: if the write still holds the buffer, reads go to a new one. */
  written(to: Writable): void {
    if (to.writableLength > 0) this.#buffer = Buffer.allocUnsafeSlow(Math.max(this.#buffer.length, FIRST_BYTES));
  }
}
