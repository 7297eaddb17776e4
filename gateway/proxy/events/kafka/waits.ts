/**
 * The sender's one wait: ends after `ms`, or at once when woken (new work,
 * close). A wake with nobody waiting is kept for the next wait, so none is lost.
 */
export class Waker {
  #wakeUp: (() => void) | undefined;
  #woken = false;

  sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(done, Math.max(0, ms));
      this.#wakeUp = done;
    });
  }

  wake(): void {
    const wakeUp = this.#wakeUp;
    if (wakeUp) wakeUp();
    else this.#woken = true;
  }
}

/** Waits for `operation` (its outcome ignored) until `deadlineMs`, a performance.now() time, at most. */
export async function until(operation: Promise<unknown>, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadlineMs - performance.now()));
  });
  try {
    await Promise.race([
      operation.then(
        () => undefined,
        () => undefined,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
