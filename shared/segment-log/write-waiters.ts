import type { WarnLogger } from './segment-log-options.ts';

const COMPACT_AFTER = 1024;

/**
 * The callbacks of `append(record, onWritten)`, in position order: each runs once, when its record is written or
 * dropped. Two parallel arrays and a read index: a group commit releases a turn's worth (tens) at a time, and this
 * allocates nothing per record.
 */
export class WriteWaiters {
  /** Where each waiting record ends; a waiter is released once the log is written up to there. */
  readonly #ends: number[] = [];
  readonly #callbacks: ((() => void) | undefined)[] = [];
  /** The first waiter not yet released. */
  #head = 0;
  readonly #logger: WarnLogger | undefined;

  constructor(logger: WarnLogger | undefined) {
    this.#logger = logger;
  }

  /** Entries the arrays hold, released ones not yet dropped included: bounded by COMPACT_AFTER plus those waiting. */
  get held(): number {
    return this.#ends.length;
  }

  /** `callback` waits for the log to be written up to `end` (its record's end). */
  add(end: number, callback: () => void): void {
    this.#ends.push(end);
    this.#callbacks.push(callback);
  }

  /**
   * Runs the callbacks whose records are written (all before `writtenPosition`); with Infinity, all of them. A
   * callback may append (and so add a waiter) while this runs: that one ends later and is left for the next release.
   */
  release(writtenPosition: number): void {
    const ends = this.#ends;
    const callbacks = this.#callbacks;
    while (this.#head < ends.length && ends[this.#head] <= writtenPosition) {
      const callback = callbacks[this.#head]!;
      callbacks[this.#head++] = undefined;
      try {
        callback();
      } catch (error) {
        this.#logger?.warn({ err: error }, 'segment log: a write callback threw');
      }
    }
    if (this.#head === ends.length) {
      ends.length = 0;
      callbacks.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER) {
      // Some waiter is always left (each release leaves a later append): drop the released ones, or the arrays grow.
      ends.splice(0, this.#head);
      callbacks.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
