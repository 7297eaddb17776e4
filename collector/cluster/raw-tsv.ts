/**
 * The access_events insert body of a batch, written as TabSeparated bytes
 * straight from the records (event-view.ts) into one reused buffer: the same
 * bytes rawRowTsv() (raw-rows.ts) would give as a string, without the
 * per-field strings and the concatenation, which were most of the
 * collector's garbage at 100k events/s.
 */
import { formatIpv6 } from '../../shared/access-event-ip.ts';
import type { EventView } from '../aggregate/event-view.ts';
import { IP_TEXT, IP_V4_MAPPED, IP_V6 } from '../aggregate/event-view.ts';
import { RAW_INSERT_TSV, rawRowTsv } from './raw-rows.ts';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const HEAD = Buffer.from(RAW_INSERT_TSV, 'utf8');
const TAB = 0x09;
const NEWLINE = 0x0a;
const DASH = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const ONE = 0x31;
/** Room for the largest fast-path row: 12 strings at MAX_FIELD_BYTES, all escaped, plus numbers; rows are far
 * smaller. */
const ROW_RESERVE = 12 * 2 * 4096 + 512;

export class RawTsvBody {
  #buf = Buffer.allocUnsafe(1 << 20);
  #len = 0;
  #rows = 0;

  get rows(): number {
    return this.#rows;
  }

  /** Empties the body (keeping its buffer): call only once the previous body's insert is done. */
  reset(): void {
    this.#len = 0;
    this.#rows = 0;
    this.#put(HEAD);
  }

  /** The insert statement and its rows; a view of the reused buffer, valid until reset(). */
  body(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  /** Appends the event's row; `source` is the partition's source text, already TSV-escaped, as bytes. */
  add(v: EventView, source: Buffer, offset: number): void {
    this.#rows++;
    if (v.event !== undefined) {
      const line = rawRowTsv(v.event, source.toString('utf8'), offset);
      this.#reserve(Buffer.byteLength(line, 'utf8'));
      this.#len += this.#buf.write(line, this.#len, 'utf8');
      return;
    }
    this.#reserve(ROW_RESERVE + source.length);
    // Locals and plain functions that return the new length: no field traffic per byte.
    const r = v.bytes;
    const out = this.#buf;
    let o = this.#len;
    const id = v.idAt;
    o = hex(out, o, r, id, 4);
    out[o++] = DASH;
    o = hex(out, o, r, id + 4, 2);
    out[o++] = DASH;
    o = hex(out, o, r, id + 6, 2);
    out[o++] = DASH;
    o = hex(out, o, r, id + 8, 2);
    out[o++] = DASH;
    o = hex(out, o, r, id + 10, 6);
    out[o++] = TAB;
    o = int(out, o, Math.floor(v.startMs / 1000));
    out[o++] = TAB;
    o = int(out, o, v.startMs % 1000);
    out[o++] = TAB;
    o = text(out, o, r, v.nodeAt, v.nodeLen);
    out[o++] = TAB;
    o = text(out, o, r, v.appAt, v.appLen);
    out[o++] = TAB;
    o = text(out, o, r, v.serviceAt, v.serviceLen);
    out[o++] = TAB;
    o = text(out, o, r, v.routeAt, v.routeLen);
    out[o++] = TAB;
    o = text(out, o, r, v.methodAt, v.methodLen);
    out[o++] = TAB;
    o = int(out, o, v.status);
    out[o++] = TAB;
    o = int(out, o, v.upstreamStatus);
    out[o++] = TAB;
    o = int(out, o, v.totalUs);
    out[o++] = TAB;
    o = int(out, o, v.upstreamUs);
    out[o++] = TAB;
    o = int(out, o, v.gatewayUs);
    out[o++] = TAB;
    o = int(out, o, v.bytesIn);
    out[o++] = TAB;
    o = int(out, o, v.bytesOut);
    out[o++] = TAB;
    if (v.ipKind === IP_TEXT) o = text(out, o, r, v.ipAt, v.ipLen);
    else if (v.ipKind === IP_V6) o += out.write(formatIpv6(r, v.ipAt), o, 'latin1');
    else {
      if (v.ipKind === IP_V4_MAPPED) o += out.write('::ffff:', o, 'latin1');
      o = int(out, o, r[v.ipAt]);
      out[o++] = DOT;
      o = int(out, o, r[v.ipAt + 1]);
      out[o++] = DOT;
      o = int(out, o, r[v.ipAt + 2]);
      out[o++] = DOT;
      o = int(out, o, r[v.ipAt + 3]);
    }
    out[o++] = TAB;
    o = text(out, o, r, v.targetAt, v.targetLen);
    out[o++] = TAB;
    o += out.write(v.errorClass, o, 'latin1');
    out[o++] = TAB;
    o = v.traceRaw ? hex(out, o, r, v.traceAt, 16) : text(out, o, r, v.traceAt, v.traceLen);
    out[o++] = TAB;
    o += out.write(v.protocol, o, 'latin1');
    out[o++] = TAB;
    o = text(out, o, r, v.tlsAt, v.tlsLen);
    out[o++] = TAB;
    if (v.grpcStatus < 0) out[o++] = DASH; // -1, the only negative the codec lets through
    o = int(out, o, v.grpcStatus < 0 ? 1 : v.grpcStatus);
    out[o++] = TAB;
    o = text(out, o, r, v.grpcMethodAt, v.grpcMethodLen);
    out[o++] = TAB;
    o = int(out, o, v.messagesIn);
    out[o++] = TAB;
    o = int(out, o, v.messagesOut);
    out[o++] = TAB;
    o = int(out, o, v.closeCode);
    out[o++] = TAB;
    o = text(out, o, r, v.closeReasonAt, v.closeReasonLen);
    out[o++] = TAB;
    out[o++] = v.interim ? ONE : ZERO;
    out[o++] = TAB;
    out.set(source, o);
    o += source.length;
    out[o++] = TAB;
    o = int(out, o, offset);
    out[o++] = NEWLINE;
    this.#len = o;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(grown, 0, 0, this.#len);
    this.#buf = grown;
  }

  #put(from: Uint8Array): void {
    this.#reserve(from.length);
    this.#buf.set(from, this.#len);
    this.#len += from.length;
  }
}

function hex(out: Buffer, o: number, from: Uint8Array, at: number, n: number): number {
  for (let i = at; i < at + n; i++) {
    const c = from[i];
    out[o++] = HEX[c >>> 4];
    out[o++] = HEX[c & 15];
  }
  return o;
}

/** ASCII bytes with ClickHouse's TabSeparated escapes for tab, newline, carriage return and backslash. */
function text(out: Buffer, o: number, from: Uint8Array, at: number, n: number): number {
  for (let i = at; i < at + n; i++) {
    const c = from[i];
    const escaped = TSV_ESCAPE[c];
    if (escaped === 0) out[o++] = c;
    else {
      out[o++] = 0x5c;
      out[o++] = escaped;
    }
  }
  return o;
}

/** A non-negative safe integer in decimal: two digits per step from a table, in integer arithmetic below 2^31. */
function int(out: Buffer, o: number, value: number): number {
  if (value < 10) {
    out[o] = 0x30 + value;
    return o + 1;
  }
  if (value > 0x7fffffff) return o + out.write(String(value), o, 'latin1');
  const end = o + digitsOf(value);
  let p = end;
  let x = value;
  while (x >= 100) {
    const q = (x / 100) | 0;
    const pair = (x - q * 100) * 2;
    out[--p] = DIGIT_PAIRS[pair + 1];
    out[--p] = DIGIT_PAIRS[pair];
    x = q;
  }
  if (x >= 10) {
    out[--p] = DIGIT_PAIRS[x * 2 + 1];
    out[--p] = DIGIT_PAIRS[x * 2];
  } else out[--p] = 0x30 + x;
  return end;
}

/** The letter after the backslash for bytes TabSeparated escapes; 0 for every other byte. */
const TSV_ESCAPE = new Uint8Array(256);
TSV_ESCAPE[0x09] = 0x74;
TSV_ESCAPE[0x0a] = 0x6e;
TSV_ESCAPE[0x0d] = 0x72;
TSV_ESCAPE[0x5c] = 0x5c;

/** "00" … "99" as ASCII. */
const DIGIT_PAIRS = Buffer.from(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''), 'latin1');

function digitsOf(x: number): number {
  if (x < 100) return 2;
  if (x < 1000) return 3;
  if (x < 10_000) return 4;
  if (x < 100_000) return 5;
  if (x < 1_000_000) return 6;
  if (x < 10_000_000) return 7;
  if (x < 100_000_000) return 8;
  if (x < 1_000_000_000) return 9;
  return 10;
}
