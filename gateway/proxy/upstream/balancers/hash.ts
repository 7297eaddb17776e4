/**
 * 32-bit string hash for balancer keys and ring points: FNV-1a over UTF-16
 * code units, then murmur3's finaliser. FNV-1a alone leaves keys that differ
 * only in their last character (10.0.0.1, 10.0.0.2) close together in the
 * high bits; the finaliser spreads them over the whole 32-bit space, which a
 * hash ring and `hash / 2^32 * totalWeight` both rely on.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h = Math.imul(h ^ (c & 0xff), 0x01000193);
    if (c > 0xff) h = Math.imul(h ^ (c >>> 8), 0x01000193);
  }
  return mix32(h);
}

/** murmur3 fmix32: a bijection on 32-bit integers with full avalanche; result is unsigned. */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Maps an unsigned 32-bit hash uniformly onto [0, total). */
export function scaleHash(h: number, total: number): number {
  return (h / 4294967296) * total;
}
