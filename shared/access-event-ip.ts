/**
 * Client IP text <-> raw bytes for the access event codec. An address is
 * packed only when its text is exactly what the formatter prints back
 * (dotted IPv4 without leading zeros; RFC 5952 IPv6 in lowercase with
 * IPv4-mapped addresses as ::ffff:a.b.c.d, which is how Node reports
 * IPv4 clients on a dual-stack socket), so the round trip never changes text.
 * Anything else (zone ids, uppercase, 'unknown') stays text in the codec.
 */

/** Writes 4 bytes at out[offset] when `text` is canonical dotted IPv4. */
export function ipv4ToBytes(text: string, out: Uint8Array, offset: number): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false; // leading zero would not print back
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else return false;
  }
  return part === 4;
}

export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

// Scratch for the 8 16-bit words of an IPv6 address; parse and format are synchronous.
const parsed = new Uint16Array(8);
const words = new Uint16Array(8);

/** Writes 16 bytes at out[offset] when `text` is exactly what formatIpv6 prints. */
export function ipv6ToBytes(text: string, out: Uint8Array, offset: number): boolean {
  const n = text.length;
  if (n < 2 || n > 39) return false;
  let count = 0;
  let gapAt = -1;
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return false;
    gapAt = 0;
    i = 2;
  }
  while (i < n) {
    let value = 0;
    let digits = 0;
    for (let h = hexValue(text.charCodeAt(i)); h >= 0 && i < n; h = hexValue(text.charCodeAt(++i))) {
      if (digits === 1 && value === 0) return false; // a leading zero would not print back
      if (++digits > 4) return false;
      value = value * 16 + h;
    }
    if (digits === 0 || count === 8) return false;
    parsed[count++] = value;
    if (i === n) break;
    if (text.charCodeAt(i++) !== 0x3a || i === n) return false; // '.', '%', uppercase, trailing ':'
    if (text.charCodeAt(i) === 0x3a) {
      if (gapAt >= 0) return false;
      gapAt = count;
      i++;
    }
  }
  // Canonical text writes '::' for at least two zero words, so at most 6 appear beside it.
  if (gapAt < 0 ? count !== 8 : count > 6) return false;
  const gapLength = gapAt < 0 ? 0 : 8 - count;
  for (let w = 0, p = 0; w < 8; w++) {
    words[w] = gapAt >= 0 && w >= gapAt && w < gapAt + gapLength ? 0 : parsed[p++];
  }
  if (isV4Mapped(words)) return false; // printed dotted, so this text is not canonical
  const run = longestZeroRun(words);
  if (gapAt < 0 ? run >= 0 : run !== gapAt * 16 + gapLength) return false;
  for (let w = 0; w < 8; w++) {
    out[offset + 2 * w] = words[w] >>> 8;
    out[offset + 2 * w + 1] = words[w] & 0xff;
  }
  return true;
}

/** RFC 5952 text of the 16 bytes at bytes[offset]. */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  for (let w = 0; w < 8; w++) words[w] = (bytes[offset + 2 * w] << 8) | bytes[offset + 2 * w + 1];
  if (isV4Mapped(words)) return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  const run = longestZeroRun(words);
  const gapStart = run < 0 ? 8 : run >>> 4;
  const gapEnd = run < 0 ? 8 : gapStart + (run & 15);
  let text = '';
  for (let w = 0; w < gapStart; w++) text += (w === 0 ? '' : ':') + words[w].toString(16);
  if (run >= 0) text += '::';
  for (let w = gapEnd; w < 8; w++) text += (w === gapEnd ? '' : ':') + words[w].toString(16);
  return text;
}

function isV4Mapped(w: Uint16Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff;
}

/** start * 16 + length of the first longest run of two or more zero words, or -1. */
function longestZeroRun(w: Uint16Array): number {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLength) {
      best = i * 16 + (j - i);
      bestLength = j - i;
    }
    i = j;
  }
  return best;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}
