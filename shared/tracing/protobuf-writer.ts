/**
 * The protobuf wire format as the span encoder (span-encoder.ts) writes it: a growing byte buffer, tags, varints,
 * strings, fixed-width numbers, and messages whose length is written once they are whole.
 */

export const LEN = 2;
export const VARINT = 0;
export const I64 = 1;
export const I32 = 5;

export class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  /** `size`: the bytes it starts with (it grows as it must). */
  constructor(size = 1 << 16) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tag(field: number, wire: number): void {
    const tag = (field << 3) | wire;
    if (tag > 127) {
      this.varint(tag);
      return;
    }
    this.ensure(1);
    this.buf[this.pos++] = tag;
  }

  varint(v: number): void {
    this.ensure(10);
    if (v < 0) {
      // An int64 below zero is ten bytes of two's complement (rare: no attribute the gateway sets is negative).
      let big = BigInt.asUintN(64, BigInt(v));
      while (big > 127n) {
        this.buf[this.pos++] = Number(big & 127n) | 128;
        big >>= 7n;
      }
      this.buf[this.pos++] = Number(big);
      return;
    }
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  string(s: string): void {
    // Written as ASCII (its length is its byte length) until a character says otherwise, then again as UTF-8.
    const n = s.length;
    const at = this.pos;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        this.pos = at;
        this.bytes(Buffer.from(s, 'utf8'));
        return;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A hex id (trace or span id) as its bytes. */
  hexId(hex: string): void {
    const n = hex.length >> 1;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < hex.length; i += 2) buf[pos++] = (HEX[hex.charCodeAt(i)] << 4) | HEX[hex.charCodeAt(i + 1)];
    this.pos = pos;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Reserves one byte for the length of a message that follows; `finish` writes it (moving the message on when
   * its length takes more). */
  start(): number {
    this.ensure(1);
    return this.pos++;
  }

  finish(at: number): void {
    const length = this.pos - at - 1;
    if (length < 128) {
      this.buf[at] = length;
      return;
    }
    const size = varintSize(length);
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    const end = this.pos;
    this.pos = at;
    this.varint(length);
    this.pos = end;
  }

  fixed64(lo: number, hi: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, lo, true);
    this.view.setUint32(this.pos + 4, hi, true);
    this.pos += 8;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
}

/** A hex digit's value by its character code (a table: about twice as fast as arithmetic on each digit). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 127) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
