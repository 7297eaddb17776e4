import { parseV4, parseV6 } from './ip.ts';

/**
 * A compiled list of CIDRs and single addresses, IPv4 and IPv6. IPv4 blocks
 * (including `::ffff:a.b.c.d/n` ones) are merged into sorted disjoint ranges
 * and found by binary search; IPv6 blocks are few in practice and scanned as
 * masked words. A lookup parses the address in place: no allocation, so it can
 * run on every request. An IPv4-mapped IPv6 address is looked up as IPv4, so
 * `10.0.0.0/8` matches a dual-stack socket's `::ffff:10.1.2.3`.
 */
export interface CidrMatcher {
  /** True when `ip` (IPv4, IPv6, `::ffff:` mapped; a `%zone` suffix ignored) falls in any block; false for garbage. */
  contains(ip: string): boolean;
  readonly size: number;
}

interface Block {
  v4: boolean;
  words: Uint32Array;
  bits: number;
}

const tmp = new Uint32Array(4);

/** `10.0.0.0/8`, `1.2.3.4`, `2001:db8::/32`, `::1` → a block, or an error message. Host bits below the mask are
 * ignored. */
export function parseCidr(text: string): Block | string {
  const slash = text.indexOf('/');
  const addrEnd = slash === -1 ? text.length : slash;
  let bits = -1;
  if (slash !== -1) {
    const b = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(b)) return `"${text}": the prefix length must be a number`;
    bits = Number(b);
  }
  const words = new Uint32Array(4);
  if (text.indexOf(':') === -1) {
    const v = parseV4(text, 0, addrEnd);
    if (v < 0) return `"${text}": not an IPv4 or IPv6 address or CIDR`;
    if (bits > 32) return `"${text}": an IPv4 prefix is at most /32`;
    words[0] = v;
    return { v4: true, words, bits: bits === -1 ? 32 : bits };
  }
  if (!parseV6(text, 0, addrEnd, words)) return `"${text}": not an IPv4 or IPv6 address or CIDR`;
  if (bits > 128) return `"${text}": an IPv6 prefix is at most /128`;
  if (bits === -1) bits = 128;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff && bits >= 96) {
    return { v4: true, words: Uint32Array.of(words[3], 0, 0, 0), bits: bits - 96 };
  }
  return { v4: false, words, bits };
}

const maskOf = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);

class CompiledCidrs implements CidrMatcher {
  readonly size: number;
  /** Sorted, disjoint, inclusive IPv4 ranges. */
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /** Per IPv6 block: 4 network words then 4 mask words. */
  private readonly v6: Uint32Array;
  private readonly v6Count: number;

  constructor(blocks: Block[]) {
    this.size = blocks.length;
    const ranges = blocks
      .filter((b) => b.v4)
      .map((b) => {
        const mask = maskOf(b.bits);
        const start = (b.words[0] & mask) >>> 0;
        return [start, start + (0xffffffff - mask)] as [number, number];
      })
      .sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    this.starts = Float64Array.from(merged, (r) => r[0]);
    this.ends = Float64Array.from(merged, (r) => r[1]);
    const v6 = blocks.filter((b) => !b.v4);
    this.v6Count = v6.length;
    this.v6 = new Uint32Array(v6.length * 8);
    v6.forEach((b, i) => {
      for (let w = 0; w < 4; w++) {
        const mask = maskOf(b.bits - 32 * w);
        this.v6[i * 8 + w] = (b.words[w] & mask) >>> 0;
        this.v6[i * 8 + 4 + w] = mask;
      }
    });
  }

  contains(ip: string): boolean {
    let end = ip.length;
    let colon = false;
    for (let i = 0; i < end; i++) {
      const c = ip.charCodeAt(i);
      if (c === 58) colon = true;
      else if (c === 37 /* % zone */) {
        end = i;
        break;
      }
    }
    if (!colon) return this.hasV4(parseV4(ip, 0, end));
    if (!parseV6(ip, 0, end, tmp)) return false;
    if (tmp[0] === 0 && tmp[1] === 0 && tmp[2] === 0xffff) return this.hasV4(tmp[3]);
    const v6 = this.v6;
    for (let i = 0; i < this.v6Count; i++) {
      const o = i * 8;
      if (
        (tmp[0] & v6[o + 4]) >>> 0 === v6[o] &&
        (tmp[1] & v6[o + 5]) >>> 0 === v6[o + 1] &&
        (tmp[2] & v6[o + 6]) >>> 0 === v6[o + 2] &&
        (tmp[3] & v6[o + 7]) >>> 0 === v6[o + 3]
      )
        return true;
    }
    return false;
  }

  private hasV4(v: number): boolean {
    if (v < 0) return false;
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    // The last range starting at or below v is the only one that can hold it.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= v) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && v <= this.ends[hi];
  }
}

/** Compiles a list once (at config load); throws on an invalid entry — validate with `cidrErrors` first. */
export function compileCidrs(list: readonly string[]): CidrMatcher {
  const blocks: Block[] = [];
  for (const text of list) {
    const b = parseCidr(text.trim());
    if (typeof b === 'string') throw new Error(b);
    blocks.push(b);
  }
  return new CompiledCidrs(blocks);
}

const trusted = new WeakMap<readonly string[], CidrMatcher>();

/**
 * `trusted_proxies` compiled once per config: the client-ip stage, the request-headers stage of every route, the
 * listeners and the streams that read it share one matcher.
 */
export function trustedProxies(list: readonly string[]): CidrMatcher {
  let matcher = trusted.get(list);
  if (matcher === undefined) trusted.set(list, (matcher = compileCidrs(list)));
  return matcher;
}

/** One message per invalid entry, with its index, for config semantics and the admin API. */
export function cidrErrors(list: readonly string[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  list.forEach((text, index) => {
    const b = typeof text === 'string' ? parseCidr(text.trim()) : 'not a string';
    if (typeof b === 'string') out.push({ index, message: b });
  });
  return out;
}

/** Matches nothing; shared by everything with an empty list. */
export const emptyCidrs: CidrMatcher = new CompiledCidrs([]);
