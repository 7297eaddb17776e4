/**
 * Access event ids: UUIDv7 (RFC 9562) as the canonical 36-char lowercase text,
 * and the text <-> bytes conversions the codec uses for event and trace ids.
 *
 * UUIDv7 over ULID because it is a standard the stores already speak (a UUID
 * column in ClickHouse and Postgres, uuid parsers everywhere), its text form
 * sorts in time order like ULID's does, and it packs to 16 raw bytes for the
 * codec with plain hex.
 *
 * Layout (RFC 9562 §5.7, monotonicity by §6.2 method 1, a 42-bit counter):
 *   48 bits unix ms | 4 bits version 7 | 12 bits counter high
 *   | 2 bits variant 10 | 30 bits counter low | 32 random bits
 * The counter is seeded at random (top bit clear, so 2^41 increments always
 * fit) on each new millisecond and incremented within one, so ids from one
 * generator are strictly increasing even when many share a millisecond or the
 * wall clock steps back; if the counter ever overflows the id borrows the next
 * millisecond. Across processes uniqueness rests on the 41 + 32 random bits.
 */
import { HEX, RandomPool, UUID_HEX_AT, uuidText, uuidTextBuffer } from './uuid-text.ts';

export type NowMs = () => number;

const COUNTER_LOW_MAX = 0x3fffffff;
const COUNTER_HIGH_MAX = 0xfff;

export class EventIdGenerator {
  readonly #nowMs: NowMs;
  readonly #random = new RandomPool();
  // The last id as bytes and as text (one flat string: uuidText), so the
  // codec copies the bytes instead of parsing.
  readonly #bytes = Buffer.alloc(16);
  readonly #text = uuidTextBuffer();
  #lastText: string | undefined;
  #lastMs = -1;
  #counterHigh = 0;
  #counterLow = 0;

  constructor(nowMs: NowMs = Date.now) {
    this.#nowMs = nowMs;
  }

  next(): string {
    this.#mint();
    this.#lastText = uuidText(this.#bytes, 0, this.#text);
    return this.#lastText;
  }

  /** A new id written as its 16 bytes at out[offset], without making its text (the request path's records). */
  writeNext(out: Uint8Array, offset: number): void {
    this.#mint();
    this.#lastText = undefined;
    out.set(this.#bytes, offset);
  }

  #mint(): void {
    const now = this.#nowMs();
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#seedCounter();
    } else if (this.#counterLow < COUNTER_LOW_MAX) {
      this.#counterLow++;
    } else if (this.#counterHigh < COUNTER_HIGH_MAX) {
      this.#counterLow = 0;
      this.#counterHigh++;
    } else {
      this.#lastMs++;
      this.#seedCounter();
    }
    const b = this.#bytes;
    b.writeUIntBE(this.#lastMs, 0, 6);
    b[6] = 0x70 | (this.#counterHigh >>> 8);
    b[7] = this.#counterHigh & 0xff;
    b.writeUInt32BE((0x80000000 | this.#counterLow) >>> 0, 8);
    b.writeUInt32BE(this.#random32(), 12);
  }

  /** Writes the 16 bytes of `id` at out[offset] when it is the last id this generator made; false otherwise. */
  copyLastBytes(id: string, out: Uint8Array, offset: number): boolean {
    if (id !== this.#lastText) return false;
    out.set(this.#bytes, offset);
    return true;
  }

  #seedCounter(): void {
    const r = this.#random32();
    this.#counterHigh = (r >>> 21) & 0x7ff;
    this.#counterLow = r & COUNTER_LOW_MAX;
  }

  #random32(): number {
    return this.#random.bytes.readUInt32BE(this.#random.take(4));
  }
}

const processGenerator = new EventIdGenerator();

/** A new event id, monotonic across every caller in this process. */
export function newEventId(): string {
  return processGenerator.next();
}

/** A new event id from the same generator as newEventId, written as 16 bytes at out[offset] with no text made. */
export function writeNewEventId(out: Uint8Array, offset: number): void {
  processGenerator.writeNext(out, offset);
}

/**
 * Writes the 16 bytes of a canonical UUID text at out[offset]; false for any
 * other text. The id newEventId made last (the event being encoded, nearly
 * always) is copied rather than parsed.
 */
export function eventIdToBytes(id: string, out: Uint8Array, offset: number): boolean {
  return processGenerator.copyLastBytes(id, out, offset) || uuidToBytes(id, out, offset);
}

/** Epoch ms an id was minted at, or undefined when `id` is not a canonical UUIDv7. */
export function eventIdTimeMs(id: string): number | undefined {
  if (!UUID7_TEXT.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

const UUID7_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Writes the 16 bytes of a canonical (lowercase, dashed) UUID text of any
 * version at out[offset]; false, with out unspecified, for any other text.
 */
export function uuidToBytes(text: string, out: Uint8Array, offset: number): boolean {
  if (text.length !== 36) return false;
  if (
    text.charCodeAt(8) !== 0x2d ||
    text.charCodeAt(13) !== 0x2d ||
    text.charCodeAt(18) !== 0x2d ||
    text.charCodeAt(23) !== 0x2d
  ) {
    return false;
  }
  for (let i = 0; i < 16; i++) {
    const c = UUID_HEX_AT[i];
    const hi = hexValue(text.charCodeAt(c));
    const lo = hexValue(text.charCodeAt(c + 1));
    if (hi < 0 || lo < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

/** The canonical text of the 16 bytes at bytes[offset]. */
export function uuidFromBytes(bytes: Uint8Array, offset: number): string {
  const b = bytes;
  const o = offset;
  return (
    HEX[b[o]] +
    HEX[b[o + 1]] +
    HEX[b[o + 2]] +
    HEX[b[o + 3]] +
    '-' +
    HEX[b[o + 4]] +
    HEX[b[o + 5]] +
    '-' +
    HEX[b[o + 6]] +
    HEX[b[o + 7]] +
    '-' +
    HEX[b[o + 8]] +
    HEX[b[o + 9]] +
    '-' +
    HEX[b[o + 10]] +
    HEX[b[o + 11]] +
    HEX[b[o + 12]] +
    HEX[b[o + 13]] +
    HEX[b[o + 14]] +
    HEX[b[o + 15]]
  );
}

/**
 * Writes the 16 bytes of a W3C trace id (32 lowercase hex) at out[offset];
 * false for any other text, which the codec then carries as text.
 */
export function traceIdToBytes(text: string, out: Uint8Array, offset: number): boolean {
  if (text.length !== 32) return false;
  for (let i = 0; i < 16; i++) {
    const hi = hexValue(text.charCodeAt(2 * i));
    const lo = hexValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

export function traceIdFromBytes(bytes: Uint8Array, offset: number): string {
  const b = bytes;
  const o = offset;
  return (
    HEX[b[o]] +
    HEX[b[o + 1]] +
    HEX[b[o + 2]] +
    HEX[b[o + 3]] +
    HEX[b[o + 4]] +
    HEX[b[o + 5]] +
    HEX[b[o + 6]] +
    HEX[b[o + 7]] +
    HEX[b[o + 8]] +
    HEX[b[o + 9]] +
    HEX[b[o + 10]] +
    HEX[b[o + 11]] +
    HEX[b[o + 12]] +
    HEX[b[o + 13]] +
    HEX[b[o + 14]] +
    HEX[b[o + 15]]
  );
}

// Lowercase only: uppercase text would not survive a bytes round trip unchanged.
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}
