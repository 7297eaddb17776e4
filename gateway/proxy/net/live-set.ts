/**
 * The open members of a group that churns (TCP connections, WebSocket tunnels, HTTP/2 sessions): add, delete, size
 * and iteration, as a Set gives, in an array where each member keeps its own index, so a delete moves the last
 * member into the gap. The index is a property under this set's symbol, or a field the members declare, named to the
 * set: that spares each member the property array a property added after its construction may cost.
 *
 * Why not a Set: a Set that churns is rehashed into a new table again and again, and V8 keeps each old table, with
 * the members it held, linked to its successor for iterators in flight. Once one of those tables is in the old
 * generation, the chain keeps the members of every later rehash alive through scavenges, closed connections with
 * their sockets and buffers, until a mark-compact. At 8,000 short TCP connections a second that was ~10 MB promoted
 * per scavenge and a mark-compact every half second, against ~0.1 MB with this (`node --trace-gc-nvp`,
 * `npm run bench -- --tcp`).
 */
export class LiveSet<T extends object> implements Iterable<T> {
  readonly #members: T[] = [];
  readonly #index: symbol | string;

  /** `index`: a field members declare (a number, undefined while not in a set) to keep their index in, if any. */
  constructor(index?: string) {
    this.#index = index ?? Symbol('live-set index');
  }

  get size(): number {
    return this.#members.length;
  }

  add(member: T): void {
    const m = member as Record<symbol | string, number | undefined>;
    if (m[this.#index] !== undefined) return;
    m[this.#index] = this.#members.length;
    this.#members.push(member);
  }

  delete(member: T): boolean {
    const m = member as Record<symbol | string, number | undefined>;
    const i = m[this.#index];
    if (i === undefined) return false;
    m[this.#index] = undefined;
    const last = this.#members.pop()!;
    if (last !== member) {
      this.#members[i] = last;
      (last as Record<symbol | string, number | undefined>)[this.#index] = i;
    }
    return true;
  }

  /** A copy: members may be added or deleted while it is walked (a sweep closing what it visits). */
  [Symbol.iterator](): Iterator<T> {
    return this.#members.slice()[Symbol.iterator]();
  }
}
