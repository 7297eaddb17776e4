/**
 * The event ids one source has counted recently, each with the offset of its
 * first occurrence, for dropping an event a gateway re-sent from its spool
 * (migrations/README.md, step 4). Ids that are UUIDs (all the gateway makes)
 * are kept as their 16 bytes in typed arrays: a FIFO in the order they were
 * remembered and an open-addressing index over it. A Map of 36-char strings
 * held for a million offsets was promoted to the old generation and cost
 * about 3 µs per event in lookups and GC; this costs no allocation per event.
 * Other ids (any text a foreign producer sent) keep a Map.
 */
import { uuidToBytes } from '../../shared/access-event-id.ts';

const EMPTY_SLOT = -1;

export class IdWindow {
  /** Ids in the order remembered: 4 words each, first offset, hash; positions are sequence numbers modulo capacity. */
  #words: Int32Array;
  #offsets: Float64Array;
  #hashes: Int32Array;
  /** Sequence numbers of the oldest and the next entry. */
  #head = 0;
  #tail = 0;
  /** Open addressing, linear probing: FIFO position per slot or EMPTY_SLOT; twice the FIFO capacity. */
  #index: Int32Array;
  readonly #text = new Map<string, number>();
  readonly #scratch = new Uint8Array(16);

  constructor(initialCapacity = 1 << 12) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.#words = new Int32Array(capacity * 4);
    this.#offsets = new Float64Array(capacity);
    this.#hashes = new Int32Array(capacity);
    this.#index = new Int32Array(capacity * 2).fill(EMPTY_SLOT);
  }

  get size(): number {
    return this.#tail - this.#head + this.#text.size;
  }

  clear(): void {
    this.#head = 0;
    this.#tail = 0;
    this.#index.fill(EMPTY_SLOT);
    this.#text.clear();
  }

  /** First offset of the id whose 16 bytes are at bytes[at], or -1. */
  firstOfBytes(bytes: Uint8Array, at: number): number {
    const w0 = word(bytes, at);
    const w1 = word(bytes, at + 4);
    const w2 = word(bytes, at + 8);
    const w3 = word(bytes, at + 12);
    const index = this.#index;
    const mask = index.length - 1;
    const words = this.#words;
    for (let slot = hashOf(w0, w1, w2, w3) & mask; ; slot = (slot + 1) & mask) {
      const p = index[slot];
      if (p === EMPTY_SLOT) return -1;
      const w = p * 4;
      if (words[w] === w0 && words[w + 1] === w1 && words[w + 2] === w2 && words[w + 3] === w3) return this.#offsets[p];
    }
  }

  /** First offset of a text id, or -1. */
  firstOfText(id: string): number {
    if (uuidToBytes(id, this.#scratch, 0)) return this.firstOfBytes(this.#scratch, 0);
    return this.#text.get(id) ?? -1;
  }

  /** Remembers a new id (not already held) first seen at `offset`; forgets ids first seen before `forgetBelow`. */
  rememberBytes(bytes: Uint8Array, at: number, offset: number, forgetBelow: number): void {
    if (this.#tail - this.#head === this.#offsets.length) this.#grow();
    const p = this.#tail & (this.#offsets.length - 1);
    const w = p * 4;
    const words = this.#words;
    words[w] = word(bytes, at);
    words[w + 1] = word(bytes, at + 4);
    words[w + 2] = word(bytes, at + 8);
    words[w + 3] = word(bytes, at + 12);
    const hash = hashOf(words[w], words[w + 1], words[w + 2], words[w + 3]);
    this.#offsets[p] = offset;
    this.#hashes[p] = hash;
    this.#insert(p, hash);
    this.#tail++;
    this.#forget(forgetBelow);
  }

  rememberText(id: string, offset: number, forgetBelow: number): void {
    if (uuidToBytes(id, this.#scratch, 0)) {
      this.rememberBytes(this.#scratch, 0, offset, forgetBelow);
      return;
    }
    this.#text.set(id, offset);
    // In insertion order, like the FIFO: stop at the first id still in the window.
    for (const [text, first] of this.#text) {
      if (first >= forgetBelow) break;
      this.#text.delete(text);
    }
  }

  /** Drops the oldest ids while they were first seen below `forgetBelow`. */
  #forget(forgetBelow: number): void {
    const fifoMask = this.#offsets.length - 1;
    while (this.#head < this.#tail && this.#offsets[this.#head & fifoMask] < forgetBelow) {
      this.#remove(this.#head & fifoMask);
      this.#head++;
    }
  }

  #insert(p: number, hash: number): void {
    const mask = this.#index.length - 1;
    let slot = hash & mask;
    while (this.#index[slot] !== EMPTY_SLOT) slot = (slot + 1) & mask;
    this.#index[slot] = p;
  }

  /** Deletes FIFO position p from the index, shifting later entries of its probe run back (no tombstones). */
  #remove(p: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let hole = this.#hashes[p] & mask;
    while (index[hole] !== p) hole = (hole + 1) & mask;
    for (let next = (hole + 1) & mask; index[next] !== EMPTY_SLOT; next = (next + 1) & mask) {
      const home = this.#hashes[index[next]] & mask;
      // next may move into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!stays) {
        index[hole] = index[next];
        hole = next;
      }
    }
    index[hole] = EMPTY_SLOT;
  }

  #grow(): void {
    const oldMask = this.#offsets.length - 1;
    const capacity = this.#offsets.length * 2;
    const words = new Int32Array(capacity * 4);
    const offsets = new Float64Array(capacity);
    const hashes = new Int32Array(capacity);
    let n = 0;
    for (let seq = this.#head; seq < this.#tail; seq++, n++) {
      const from = seq & oldMask;
      words.set(this.#words.subarray(from * 4, from * 4 + 4), n * 4);
      offsets[n] = this.#offsets[from];
      hashes[n] = this.#hashes[from];
    }
    this.#words = words;
    this.#offsets = offsets;
    this.#hashes = hashes;
    this.#head = 0;
    this.#tail = n;
    this.#index = new Int32Array(capacity * 2).fill(EMPTY_SLOT);
    for (let p = 0; p < n; p++) this.#insert(p, hashes[p]);
  }
}

function word(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);
}

/** Mixes all four words: a UUIDv7's first bytes are a clock, its last ones random. */
function hashOf(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w3 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w2 ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ w1 ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ w0 ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x7fffffff;
}
