import { FrameHeaders } from '../net/frame-headers.ts';

/**
 * Follows the WebSocket frames (RFC 6455 5.2) in one direction of a tunnel
 * from their headers alone: payloads are skipped, never held. It counts
 * messages, tells whether the stream stands between two frames (where the
 * gateway may put a close frame of its own), and notes a close frame.
 */
export class FrameTracker extends FrameHeaders {
  /** Messages whose last frame has begun (a data frame with FIN); control frames are not messages. */
  count = 0;
  /** A close frame has begun in this direction. */
  closed = false;
  /** The code of the first close frame in this direction (1005 when it held none); 0 before one. */
  closeCode = 0;
  /** Payload bytes of the data message being sent (its frames so far); control frames are not part of it. */
  messageBytes = 0;
  /**
   * Bytes of the current frame's header read so far (and a close frame's code, read as if part of it). A plain
   * array: a Buffer of its own per direction cost an ArrayBuffer and a native backing store per connection.
   */
  readonly #header: number[] = new Array<number>(16).fill(0);
  #have = 0;

  /** Between two frames: nothing of a frame is pending. */
  get atBoundary(): boolean {
    return this.#have === 0 && !this.inPayload;
  }

  protected headerByte(byte: number): number | undefined {
    const h = this.#header;
    h[this.#have++] = byte;
    const need = headerLength(h, this.#have);
    if (need === 0 || this.#have < need) return undefined;
    const opcode = h[0] & 0x0f;
    const len7 = h[1] & 0x7f;
    // A 64-bit length beyond 2^53 is no real frame; it is skipped as far as a number reaches.
    const length = len7 < 126 ? len7 : len7 === 126 ? (h[2] << 8) | h[3] : uint32(h, 2) * 0x1_0000_0000 + uint32(h, 6);
    if (opcode === 0x8) {
      // A close frame's first two payload bytes are its code (RFC 6455 5.5.1), masked as the rest of a client's.
      if (length >= 2 && this.#have < need + 2) return undefined;
      this.#have = 0;
      this.closed = true;
      if (this.closeCode !== 0) return length >= 2 ? length - 2 : length;
      if (length < 2) {
        this.closeCode = 1005;
        return length;
      }
      const masked = (h[1] & 0x80) !== 0;
      this.closeCode = ((h[need] ^ (masked ? h[need - 4] : 0)) << 8) | (h[need + 1] ^ (masked ? h[need - 3] : 0));
      return length - 2;
    }
    this.#have = 0;
    if (opcode < 0x8) {
      // A data frame starts a message; a continuation (0) adds to it.
      this.messageBytes = opcode === 0 ? this.messageBytes + length : length;
      if ((h[0] & 0x80) !== 0) this.count++;
    }
    return length;
  }
}

/** Four header bytes from `at` as a big-endian unsigned number. */
function uint32(h: number[], at: number): number {
  return h[at] * 0x100_0000 + ((h[at + 1] << 16) | (h[at + 2] << 8) | h[at + 3]);
}

/** The length of a frame header from its first bytes: 0 while the first two have not come. */
function headerLength(h: number[], have: number): number {
  if (have < 2) return 0;
  const len7 = h[1] & 0x7f;
  const mask = (h[1] & 0x80) !== 0 ? 4 : 0;
  return 2 + (len7 < 126 ? 0 : len7 === 126 ? 2 : 8) + mask;
}

/** A ping from the gateway to a client: unmasked and empty, as a server's. */
export const PING_TO_CLIENT = Buffer.from([0x89, 0x00]);

/** A ping from the gateway to an upstream: empty, and masked, as a client's frames must be (RFC 6455 5.3). */
export function pingToUpstream(): Buffer {
  const frame = Buffer.from([0x89, 0x80, 0, 0, 0, 0]);
  frame.writeUInt32BE((Math.random() * 0x1_0000_0000) >>> 0, 2);
  return frame;
}

/** A close frame from the gateway to a client (unmasked, as a server's frames are): `code` and no reason. */
export function closeFrame(code: number): Buffer {
  const frame = Buffer.from([0x88, 2, 0, 0]);
  frame.writeUInt16BE(code, 2);
  return frame;
}

/** RFC 6455 7.4.1 codes the gateway sends. */
export const CLOSE = {
  /** The upstream went away (its connection ended without a close frame), or the gateway is shutting down. */
  goingAway: 1001,
  /** The connection's app was disabled or deleted, or its listener's client-certificate checks changed. */
  policyViolation: 1008,
  /** A client's message was over websocket.max_message_bytes. */
  tooBig: 1009,
  /** The upstream failed (its connection broke), or a limit of the gateway's ended the connection. */
  internalError: 1011,
} as const;
