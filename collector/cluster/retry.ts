import { sleep } from '../../shared/sleep.ts';
import { withTimeout } from '../../shared/with-timeout.ts';

/**
 * Retries an idempotent write until it succeeds or the collector stops. The
 * caller holds its batch (and its Kafka offsets uncommitted) meanwhile, so an
 * outage only delays: lag grows, nothing is lost or counted twice.
 */
export class StoppedError extends Error {
  constructor() {
    super('collector stopped while a write was being retried');
    this.name = 'StoppedError';
  }
}

export interface RetryOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  signal: AbortSignal;
  onFailure: (error: Error, attempt: number, delayMs: number) => void;
}

export async function retryUntilDone<T>(write: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted) throw new StoppedError();
    try {
      return await write();
    } catch (error) {
      const delayMs = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
      options.onFailure(error as Error, attempt, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}

/** How `operation` ended within `ms`: undefined when it succeeded, else its error (or the timeout's). */
export function outcomeWithin(operation: Promise<unknown>, ms: number, what: string): Promise<Error | undefined> {
  return withTimeout(operation, ms, `${what} did not finish within ${ms} ms`).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
}
