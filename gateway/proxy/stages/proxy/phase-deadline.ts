import type { Deadline, DeadlineQueue } from '../../upstream/deadlines.ts';

/** The exchange a phase belongs to: told which queue's deadline ran out. */
export interface PhaseOwner {
  phaseExpired(queue: DeadlineQueue | undefined): void;
}

/**
 * An exchange's place in its upstream's header or body-idle queue: one entry
 * that moves from the first to the second when the response starts (an
 * exchange is in the total-timeout queue itself at the same time).
 */
export class PhaseDeadline implements Deadline {
  deadlineMs = 0;
  prevDeadline: Deadline | undefined = undefined;
  nextDeadline: Deadline | undefined = undefined;
  /** The queue the entry is in, if any. */
  queue: DeadlineQueue | undefined = undefined;
  private readonly exchange: PhaseOwner;

  constructor(exchange: PhaseOwner) {
    this.exchange = exchange;
  }

  enter(queue: DeadlineQueue, nowMs: number): void {
    this.queue?.remove(this);
    this.queue = queue;
    queue.add(this, nowMs);
  }

  leave(): void {
    this.queue?.remove(this);
    this.queue = undefined;
  }

  /** Restarts the clock of the phase it is in; nothing (not even a clock read) when it is in none: paused, or done. */
  renew(): void {
    if (this.queue !== undefined) this.queue.renew(this, performance.now());
  }

  expire(): void {
    const queue = this.queue;
    this.queue = undefined; // the queue has already taken it out
    this.exchange.phaseExpired(queue);
  }
}
