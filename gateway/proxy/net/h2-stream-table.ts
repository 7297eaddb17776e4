/**
 * Where Node keeps an HTTP/2 session's streams, replaced by storage that lets closed streams go.
 *
 * Node 24 keeps a session's open streams in a Map by id and the streams still waiting for an id in a Set
 * (`lib/internal/http2/core.js`): one add and one delete per stream, for the life of the connection. A Map that churns
 * is rehashed into a new table again and again, and V8 links each old table, with the entries it held, to its
 * successor for iterators in flight; once one of those tables is in the old generation, the chain keeps every later
 * table and the streams in it alive through scavenges until a mark-compact (the trap live-set.ts avoids for
 * connections). So the streams of a busy connection, with their requests, responses and buffers, outlived their
 * scavenge and were promoted. Decision 20 has the figures.
 *
 * `adoptStreamTables` puts a StreamTable and a PendingStreams in their place, in arrays whose slots are overwritten
 * or emptied in place, so no storage left behind holds a stream. They offer all of Map's and Set's reading and
 * writing methods, though Node 24.21 calls only get, set, delete, size and forEach, and add, delete, size and
 * forEach. Should Node keep its streams elsewhere one day, a session is left as it is (the test fails then).
 */
import type { Http2Session } from 'node:http2';
import { isMap, isSet } from 'node:util/types';
import { sessionInternal } from './h2-session.ts';

interface SessionState {
  streams: Map<number, unknown> | StreamTable;
  pendingStreams: Set<unknown> | PendingStreams;
}

/**
 * A Map of stream id to stream, for Node's use: open addressing over two arrays that are written in place, so a
 * stream deleted leaves no reference behind. A slot is the id's half (a session's ids go up by two) modulo the
 * capacity, kept at least twice the streams held; a collision takes the next free slot, and a delete moves back the
 * entries that had to go past the slot it frees (backward-shift deletion). Grows, never shrinks: one session's
 * capacity follows the most streams it has had open at once.
 */
export class StreamTable {
  /** 0 where a slot is free: stream ids start at 1. */
  #ids: number[] = new Array<number>(16).fill(0);
  #streams: unknown[] = new Array<unknown>(16).fill(undefined);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): unknown {
    const slot = this.#slotOf(id);
    return this.#ids[slot] === id ? this.#streams[slot] : undefined;
  }

  has(id: number): boolean {
    return this.#ids[this.#slotOf(id)] === id;
  }

  set(id: number, stream: unknown): this {
    let slot = this.#slotOf(id);
    if (this.#ids[slot] !== id) {
      if ((this.#size + 1) * 2 > this.#ids.length) {
        this.#grow();
        slot = this.#slotOf(id);
      }
      this.#ids[slot] = id;
      this.#size++;
    }
    this.#streams[slot] = stream;
    return this;
  }

  delete(id: number): boolean {
    let free = this.#slotOf(id);
    if (this.#ids[free] !== id) return false;
    const ids = this.#ids;
    const mask = ids.length - 1;
    for (let next = (free + 1) & mask; ids[next] !== 0; next = (next + 1) & mask) {
      // An entry stays unless the free slot lies on its way from its home slot to where it is.
      const home = (ids[next] >>> 1) & mask;
      if (((next - home) & mask) < ((next - free) & mask)) continue;
      ids[free] = ids[next];
      this.#streams[free] = this.#streams[next];
      free = next;
    }
    ids[free] = 0;
    this.#streams[free] = undefined;
    this.#size--;
    return true;
  }

  /** Over a copy, as every walk here: Node destroys each stream it is given, which deletes it from here. */
  forEach(fn: (stream: unknown, id: number, table: this) => void): void {
    for (const [id, stream] of this.#held()) fn(stream, id, this);
  }

  clear(): void {
    this.#ids.fill(0);
    this.#streams.fill(undefined);
    this.#size = 0;
  }

  entries(): IterableIterator<[number, unknown]> {
    return this.#held()[Symbol.iterator]();
  }

  keys(): IterableIterator<number> {
    return this.#held()
      .map(([id]) => id)
      [Symbol.iterator]();
  }

  values(): IterableIterator<unknown> {
    return this.#held()
      .map(([, stream]) => stream)
      [Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[number, unknown]> {
    return this.entries();
  }

  #held(): [number, unknown][] {
    const held: [number, unknown][] = [];
    for (let i = 0; i < this.#ids.length; i++) if (this.#ids[i] !== 0) held.push([this.#ids[i], this.#streams[i]]);
    return held;
  }

  /** Where `id` is, or the free slot it would take. */
  #slotOf(id: number): number {
    const ids = this.#ids;
    const mask = ids.length - 1;
    let slot = (id >>> 1) & mask;
    while (ids[slot] !== 0 && ids[slot] !== id) slot = (slot + 1) & mask;
    return slot;
  }

  #grow(): void {
    const ids = this.#ids;
    const streams = this.#streams;
    this.#ids = new Array<number>(ids.length * 2).fill(0);
    this.#streams = new Array<unknown>(ids.length * 2).fill(undefined);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === 0) continue;
      const slot = this.#slotOf(ids[i]);
      this.#ids[slot] = ids[i];
      this.#streams[slot] = streams[i];
    }
  }
}

/** A Set of the streams waiting for an id, for Node's use; a client's requests wait only until the session is up. */
export class PendingStreams {
  readonly #streams: unknown[] = [];

  get size(): number {
    return this.#streams.length;
  }

  has(stream: unknown): boolean {
    return this.#streams.includes(stream);
  }

  add(stream: unknown): this {
    if (!this.#streams.includes(stream)) this.#streams.push(stream);
    return this;
  }

  delete(stream: unknown): boolean {
    const i = this.#streams.lastIndexOf(stream);
    if (i < 0) return false;
    const last = this.#streams.pop();
    if (i < this.#streams.length) this.#streams[i] = last;
    return true;
  }

  forEach(fn: (stream: unknown, again: unknown, set: this) => void): void {
    for (const stream of [...this.#streams]) fn(stream, stream, this);
  }

  clear(): void {
    this.#streams.length = 0;
  }

  values(): IterableIterator<unknown> {
    return [...this.#streams][Symbol.iterator]();
  }

  keys(): IterableIterator<unknown> {
    return this.values();
  }

  entries(): IterableIterator<[unknown, unknown]> {
    return this.#streams.map((s): [unknown, unknown] => [s, s])[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<unknown> {
    return this.values();
  }
}

/**
 * Gives a session that has no stream yet a StreamTable and a PendingStreams in place of Node's Map and Set. True
 * if it did; false (the session left as Node made it) if it has streams already or Node keeps them elsewhere.
 */
export function adoptStreamTables(session: Http2Session): boolean {
  const state = sessionInternal<SessionState>(session, 'state');
  const { streams, pendingStreams } = state ?? {};
  // Node's are SafeMap and SafeSet, which `instanceof Map` and `Set` do not recognise (Node 24.21): ask the object.
  if (!isMap(streams) || !isSet(pendingStreams)) return false;
  if (streams.size !== 0 || pendingStreams.size !== 0) return false;
  state!.streams = new StreamTable();
  state!.pendingStreams = new PendingStreams();
  return true;
}
