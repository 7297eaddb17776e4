/** A response whose head waits for its body's first chunk. */
export interface HeldHead {
  /** Sends the head now, if it still waits (a no-op once a chunk, the end or an error came). */
  flushHeldHead(): void;
}

/**
 * Sends held response heads two turns of the event loop after they arrived,
 * when no body chunk took them along: as nginx sends a head at once, a
 * client sees the head of an event stream, a long poll or a slow download
 * whose upstream flushed it and took its time over the body. Not sooner:
 * undici destroys the upstream socket on a body broken in the same read as
 * the head (a bad chunk size), and the request's error comes with the
 * socket's close, at the end of that turn of the loop, after its immediates;
 * the head held until then lets that client get its 502.
 *
 * One immediate per turn serves every response that arrived in it, where one
 * or two per response would cost each of them. Nearly every head has gone
 * out with its first chunk by then, and is skipped.
 */
export class HeadFlush {
  /** Arrived in this turn (or the one running its immediates). */
  #arrived: HeldHead[] = [];
  /** Arrived in the turn before: sent at this turn's immediates. */
  #due: HeldHead[] = [];
  #scheduled = false;
  readonly #turn = (): void => {
    const due = this.#due;
    try {
      for (let i = 0; i < due.length; i++) due[i]!.flushHeldHead();
    } finally {
      // A head that arrives while these are sent waits in #arrived for the next turn.
      due.length = 0;
      this.#due = this.#arrived;
      this.#arrived = due;
      this.#scheduled = this.#due.length !== 0;
      if (this.#scheduled) setImmediate(this.#turn);
    }
  };

  hold(head: HeldHead): void {
    this.#arrived.push(head);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#turn);
    }
  }
}

/** The process's one flusher: every exchange's held head. */
export const heldHeads = new HeadFlush();
