import { Worker } from 'node:worker_threads';

/**
 * How long the config worker thread waits for its next config before it ends.
 * A thread started anew for every config pays its start-up each time (~0.5 s
 * more per admin edit of a 5,000-service config, measured when it also
 * compiled the schema validator); one kept for good would hold its heap (tens
 * of MB) at idle.
 */
export const CONFIG_THREAD_IDLE_MS = 30_000;

/** One config worker thread and the questions it has not answered yet. */
class ConfigThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (answer: unknown) => void; reject: (err: Error) => void }>();
  #asked = 0;
  #idle: NodeJS.Timeout | undefined;
  readonly #gone: () => void;
  readonly #idleMs: number;

  constructor(url: URL, idleMs: number, gone: () => void) {
    this.#gone = gone;
    this.#idleMs = idleMs;
    this.#worker = new Worker(url);
    this.#worker.on('message', ({ id, answer }: { id: number; answer: unknown }) => {
      const asker = this.#pending.get(id);
      this.#pending.delete(id);
      asker?.resolve(answer);
      if (this.#pending.size === 0) {
        // Idle, it does not keep the process alive: a gateway that stops does not wait for it.
        this.#worker.unref();
        this.#idle = setTimeout(() => this.#end(), this.#idleMs);
        this.#idle.unref();
      }
    });
    this.#worker.on('error', (err) => this.#fail(err));
    this.#worker.on('exit', (code) =>
      this.#fail(new Error(`the config worker exited with code ${code} before answering`)),
    );
  }

  ask(data: unknown): Promise<unknown> {
    clearTimeout(this.#idle);
    this.#worker.ref();
    const id = ++this.#asked;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, data });
    });
  }

  #end(): void {
    this.#gone();
    void this.#worker.terminate();
  }

  #fail(err: Error): void {
    clearTimeout(this.#idle);
    this.#gone();
    for (const asker of this.#pending.values()) asker.reject(err);
    this.#pending.clear();
  }
}

const threads = new Map<string, ConfigThread>();

/**
 * Asks the config worker thread at `url` (config-worker.ts) about `data`: the
 * thread is started on the first question and kept until it has been idle
 * `idleMs`, so a second config in a row finds it started and warm.
 * Rejects when the thread fails (it could not start, or died).
 */
export function askConfigThread(url: URL, data: unknown, idleMs = CONFIG_THREAD_IDLE_MS): Promise<unknown> {
  let thread = threads.get(url.href);
  if (thread === undefined) {
    const made: ConfigThread = new ConfigThread(url, idleMs, () => {
      if (threads.get(url.href) === made) threads.delete(url.href);
    });
    threads.set(url.href, made);
    thread = made;
  }
  return thread.ask(data);
}
