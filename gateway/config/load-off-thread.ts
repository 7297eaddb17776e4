import { Worker } from 'node:worker_threads';
import { loadConfigText, type FileLoadResult } from './load.ts';
import { fileHashOf, sha256 } from '../control/file-hash.ts';
import type { Logger } from '../log.ts';

/** A config file's text parsed and validated (loadConfigText), with the hashes a reload compares. */
export type LoadedText = FileLoadResult & {
  /** fileHashOf the parsed config ('' when it did not parse). */
  hash: string;
  /** sha256 of the text. */
  textHash: string;
  /** Done on a worker thread. */
  onWorker?: boolean;
};

export interface OffThreadOptions {
  /** Told when a worker did it (info), or failed to (warn: the text was then loaded here). */
  log?: Pick<Logger, 'info' | 'warn'>;
  /** OFF_THREAD_BYTES unless given. */
  minBytes?: number;
  /** The worker's module (tests); config-worker beside this module unless given. */
  workerUrl?: URL;
}

/**
 * From this size a config text is parsed and validated on a worker thread.
 * YAML parses at ~2 MB/s here (a 950 KB file of 5,000 services: 420-520 ms,
 * validation ~100 ms more), all of it time in which the gateway's event loop
 * would answer nothing. A worker adds ~170-230 ms of wall time (its start and
 * its own compile of the schema validator), off the loop, so small files,
 * which parse in a few ms, stay on it.
 */
export const OFF_THREAD_BYTES = 128 * 1024;

/** The worker's module beside this one: a .ts source run as it is, or the bundle's config-worker.js. */
const workerUrl = () => new URL(import.meta.url.endsWith('.ts') ? './config-worker.ts' : './config-worker.js', import.meta.url);

/**
 * Parses, validates and hashes `text` (read from `file`, which errors name):
 * on a worker thread when it is OFF_THREAD_BYTES or more, else here. Should
 * the worker fail (it could not start, or died), the work is done here: the
 * reload is slower, never lost.
 */
export async function loadOffThread(file: string, text: string, opts: OffThreadOptions = {}): Promise<LoadedText> {
  if (text.length >= (opts.minBytes ?? OFF_THREAD_BYTES)) {
    const started = performance.now();
    try {
      const loaded = await inWorker(opts.workerUrl ?? workerUrl(), file, text);
      opts.log?.info({ file, chars: text.length, ms: Math.round(performance.now() - started) }, 'large config file parsed and validated on a worker thread');
      return loaded;
    } catch (err) {
      opts.log?.warn({ file, err: (err as Error).message }, 'config worker failed: the file is parsed on the event loop');
    }
  }
  return loadHashed(file, text);
}

/** loadConfigText, with the hashes a reload compares: what the worker (config-worker.ts) and the fallback here do. */
export function loadHashed(file: string, text: string): LoadedText {
  const loaded = loadConfigText(file, text);
  return { ...loaded, hash: loaded.raw ? fileHashOf(loaded.raw) : '', textHash: sha256(text) };
}

function inWorker(url: URL, file: string, text: string): Promise<LoadedText> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: { file, text } });
    let answered = false;
    worker.once('message', (m: LoadedText) => {
      answered = true;
      resolve({ ...m, text, onWorker: true });
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the config worker exited with code ${code} before answering`));
    });
  });
}
