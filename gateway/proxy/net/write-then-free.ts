/**
 * Passing on what a socket's 'data' event gave, and freeing its memory as soon as it is written.
 *
 * A socket that cannot read into a buffer of ours (an accepted one, a TLS socket's plaintext, an HTTP upgrade's)
 * reads each chunk into a new ArrayBuffer of up to 64 KB outside V8's heap. Left to the garbage collector, every
 * 64 MB of them starts a full mark-compact, and its cost grows with the heap: through a TCP stream at ~1 GB/s
 * that was ~20 a second at ~13 ms each in the gateway, against ~1 ms in a bare Node pipe (`node --trace-gc`, one
 * iperf3 upload). Detached once written, the memory goes at once and the mark-compacts stop; scavenges are left.
 */
import type { Writable } from 'node:stream';

/**
 * `to.write(chunk)`, then, once written (a Writable is done with a chunk when its callback runs), `chunk`'s
 * ArrayBuffer detached. Only for a chunk no one else holds: a 'data' chunk of a net or TLS socket without `onread`,
 * not an HTTP/2 stream's, which can be a view of its session's buffer. One that does not span its whole ArrayBuffer
 * (a slice of a pooled or reused buffer) is written as it is.
 */
export function writeThenFree(to: Writable, chunk: Buffer): boolean {
  const buffer = chunk.buffer;
  if (chunk.byteOffset !== 0 || buffer.byteLength !== chunk.length || !(buffer instanceof ArrayBuffer))
    return to.write(chunk);
  return to.write(chunk, () => free(buffer));
}

function free(buffer: ArrayBuffer): void {
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable: the collector frees it, as it would have.
  }
}
