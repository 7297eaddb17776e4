/**
 * Allocation-free IP text parsing for the request path. Addresses are read
 * straight from the string's char codes into a caller's scratch array, so a
 * lookup on every request costs no garbage.
 */

/** `a.b.c.d` between `start` and `end` → unsigned 32-bit value, or -1. Leading zeros are refused (they mean octal to
 * some parsers). */
export function parseV4(s: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

const groups = new Uint16Array(8);

/** An IPv6 address (with an optional embedded IPv4 tail) → four 32-bit words in `out`. */
export function parseV6(s: string, start: number, end: number, out: Uint32Array): boolean {
  let n = 0;
  let gap = -1;
  let i = start;
  if (end - start >= 2 && s.charCodeAt(i) === 58 && s.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
  } else if (s.charCodeAt(i) === 58) return false;
  while (i < end) {
    if (n === 8) return false;
    let v = 0;
    let digits = 0;
    let j = i;
    for (; j < end; j++) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      if (++digits > 4) return false;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      if (n > 6) return false;
      const v4 = parseV4(s, i, end);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (digits === 0) return false;
    groups[n++] = v;
    if (j === end) break;
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap !== -1) return false;
      gap = n;
      j++;
    } else if (j === end) return false;
    i = j;
  }
  if (gap === -1) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const tail = n - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k];
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0;
  return true;
}

const scratch = new Uint32Array(4);

/** The same address without an IPv4-mapped prefix: `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function unmapIp(ip: string): string {
  if (ip.charCodeAt(0) !== 58 || ip.indexOf('.') === -1) return ip;
  const last = ip.lastIndexOf(':');
  if (!parseV6(ip, 0, ip.length, scratch)) return ip;
  if (scratch[0] === 0 && scratch[1] === 0 && scratch[2] === 0xffff) return ip.slice(last + 1);
  return ip;
}

/** True when `s[start, end)` is an IPv4 or IPv6 address (no port, no brackets, no zone). */
export function isIp(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (s.charCodeAt(i) === 58) return parseV6(s, start, end, scratch);
  return parseV4(s, start, end) >= 0;
}

/**
 * The key a per-client limit counts `ip` under: the address itself, or for IPv6 its first `ipv6Prefix` bits
 * (`2001:db8:1:2:0:0:0:0/64`): one host or site is commonly given a whole /64 and could spread its requests over as
 * many addresses as it likes. An IPv4 address, an IPv4-mapped one (`::ffff:a.b.c.d`, as the IPv4 address) and text
 * that is no IPv6 address count each as themselves. `%zone` suffixes are left out.
 */
export function clientKey(ip: string, ipv6Prefix: number): string {
  if (ipv6Prefix >= 128 || ip.indexOf(':') === -1) return ip;
  const zone = ip.indexOf('%');
  if (!parseV6(ip, 0, zone === -1 ? ip.length : zone, scratch)) return ip;
  if (scratch[0] === 0 && scratch[1] === 0 && scratch[2] === 0xffff) return canonicalIp(ip);
  let key = '';
  for (let w = 0; w < 4; w++) {
    const bits = Math.max(0, Math.min(32, ipv6Prefix - 32 * w));
    const word = bits === 0 ? 0 : (scratch[w]! & (0xffffffff << (32 - bits))) >>> 0;
    key += `${w === 0 ? '' : ':'}${(word >>> 16).toString(16)}:${(word & 0xffff).toString(16)}`;
  }
  return `${key}/${ipv6Prefix}`;
}

/**
 * An address as one text for one address, so that lists, limits, events and reports agree however a proxy wrote
 * it: IPv6 as RFC 5952 has it (lower case, no leading zeros, the longest run of two or more zero groups as `::`), an
 * IPv4-mapped one as its IPv4 address. IPv4 and text that is no address are returned as they are.
 */
export function canonicalIp(ip: string): string {
  if (ip.indexOf(':') === -1 || !parseV6(ip, 0, ip.length, scratch)) return ip;
  if (scratch[0] === 0 && scratch[1] === 0 && scratch[2] === 0xffff) {
    const v4 = scratch[3]!;
    return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
  }
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) groups.push((scratch[w]! >>> 16).toString(16), (scratch[w]! & 0xffff).toString(16));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}
