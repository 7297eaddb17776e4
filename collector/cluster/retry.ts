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

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * How `operation` ended within `ms`: undefined when it succeeded, else its error
 * (or a timeout error). For calls to a broker that may be away, whose client
 * can wait for it without end: nothing in the collector may hang on one.
 */
export async function outcomeWithin(operation: Promise<unknown>, ms: number, what: string): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Error>((resolve) => { timer = setTimeout(() => resolve(new Error(`${what} did not finish within ${ms} ms`)), ms); });
  const result = await Promise.race([operation.then(() => undefined, (error: unknown) => error as Error), late]);
  clearTimeout(timer);
  return result;
}
