import type { WarnLogger } from './segment-log-options.ts';

/** The callbacks of `append(record, onWritten)`, in position order: each runs once, when its record is written or
 * dropped. */
export class WriteWaiters {
  readonly #waiters: { end: number; callback: () => void }[] = [];
  readonly #logger: WarnLogger | undefined;

  constructor(logger: WarnLogger | undefined) {
    this.#logger = logger;
  }

  /** `callback` waits for the log to be written up to `end` (its record's end). */
  add(end: number, callback: () => void): void {
    this.#waiters.push({ end, callback });
  }

  /** Runs the callbacks whose records are written (all before `writtenPosition`); with Infinity, all of them. */
  release(writtenPosition: number): void {
    let released = 0;
    while (released < this.#waiters.length && this.#waiters[released].end <= writtenPosition) released++;
    for (const waiter of this.#waiters.splice(0, released)) {
      try {
        waiter.callback();
      } catch (error) {
        this.#logger?.warn({ err: error }, 'segment log: a write callback threw');
      }
    }
  }
}
