import type { Consumer } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { sleep } from '../../shared/sleep.ts';
import { outcomeWithin } from './retry.ts';

/** Closes a consumer, leaving its group; false when that failed or took over 5 s. */
const closed = async (consumer: Consumer): Promise<boolean> =>
  (await outcomeWithin(consumer.close(true), 5000, 'consumer close')) === undefined;

/**
 * Closes consumers the collector replaced. One whose close failed (the broker
 * away) is still a member of its group, heartbeating: once the broker is back
 * it would rejoin and hold partitions its successor never gets. So it is
 * closed again, with backoff, until it is; after `signal` aborts (the
 * collector stops) it gets one last try.
 */
export class ConsumerCloser {
  readonly #pending = new Set<Promise<void>>();
  readonly #signal: AbortSignal;
  readonly #logger: Logger;

  constructor(signal: AbortSignal, logger: Logger) {
    this.#signal = signal;
    this.#logger = logger;
  }

  async close(consumer: Consumer): Promise<void> {
    if (await closed(consumer)) return;
    const closing = this.#retry(consumer);
    this.#pending.add(closing);
    void closing.finally(() => this.#pending.delete(closing));
  }

  /** Resolves when every consumer is closed or given up on. */
  async drain(): Promise<void> {
    await Promise.all(this.#pending);
  }

  async #retry(consumer: Consumer): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await sleep(Math.min(5000, 100 * 2 ** attempt), this.#signal);
      if (await closed(consumer)) return;
      if (this.#signal.aborted || attempt >= 600) {
        this.#logger.error(
          { attempts: attempt },
          'kafka: a replaced consumer could not be closed; it may hold partitions until its session times out',
        );
        return;
      }
    }
  }
}
