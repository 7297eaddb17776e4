import { randomFillSync } from 'node:crypto';

/** The two lowercase hex digits of every byte value. */
export const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Text positions of a UUID's 16 bytes' hex pairs; the dashes between stay put. */
export const UUID_HEX_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** The two lowercase hex digits of byte `b` as character codes, at `b << 1` and `(b << 1) + 1`. */
export const HEX_CODES = Buffer.from(HEX.join(''), 'latin1');

/**
 * The canonical text of the 16 bytes at bytes[offset], written into `text`
 * (36 bytes whose dashes are in place) and read out as one flat string. That
 * costs a third of concatenating 20 pieces (what crypto.randomUUID does),
 * whose cons strings allocate ~600 bytes and must be flattened again wherever
 * the text is written or matched.
 */
export function uuidText(bytes: Uint8Array, offset: number, text: Buffer): string {
  for (let i = 0; i < 16; i++) {
    const at = UUID_HEX_AT[i];
    const hex = bytes[offset + i] << 1;
    text[at] = HEX_CODES[hex];
    text[at + 1] = HEX_CODES[hex + 1];
  }
  return text.toString('latin1', 0, 36);
}

/** A 36-byte buffer with a UUID's dashes in place, for uuidText. */
export const uuidTextBuffer = (): Buffer => Buffer.alloc(36, 0x2d);

/**
 * Random bytes handed out a few at a time from a 4 KB buffer that one
 * randomFillSync refills (crypto.randomUUID keeps such an entropy cache too),
 * instead of a crypto call per id.
 */
export class RandomPool {
  readonly bytes = Buffer.allocUnsafe(4096);
  #offset = this.bytes.length;

  /** The offset in `bytes` of `n` (at most 4096) bytes not handed out before. */
  take(n: number): number {
    if (this.#offset + n > this.bytes.length) {
      randomFillSync(this.bytes);
      this.#offset = 0;
    }
    const at = this.#offset;
    this.#offset += n;
    return at;
  }
}

const v4Pool = new RandomPool();
const v4Text = uuidTextBuffer();

/** A random (version 4, RFC 9562 §5.4) UUID: crypto.randomUUID's output, made as one flat string. */
export function randomUuid(): string {
  const pool = v4Pool.bytes;
  const o = v4Pool.take(16);
  pool[o + 6] = (pool[o + 6] & 0x0f) | 0x40;
  pool[o + 8] = (pool[o + 8] & 0x3f) | 0x80;
  return uuidText(pool, o, v4Text);
}
