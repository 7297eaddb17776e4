import { jsonExact } from './json-exact.ts';
import { askConfigThread } from './config-thread.ts';
import { loadConfigText, validateConfig, type FileLoadResult, type LoadResult } from './load.ts';
import { fileHashOf, sha256 } from '../file-hash.ts';
import type { Logger } from '../../log.ts';
import { runSliced, type Steps } from '../../proxy/slices.ts';

/** A config file's text parsed and validated (loadConfigText), with the hashes a reload compares. */
export type LoadedText = FileLoadResult & {
  /** fileHashOf the parsed config ('' when it did not parse). */
  hash: string;
  /** sha256 of the text. */
  textHash: string;
  /** Done on a worker thread. */
  onWorker?: boolean;
};

/** The text, or the config it holds, is the one `unchangedHash` names: nothing else comes back. */
export interface UnchangedText {
  unchanged: true;
  hash: string;
  textHash: string;
  /** Found so on a worker thread (which then sent nothing more). */
  onWorker?: true;
}

export interface OffThreadOptions {
  /** Told when a worker did it (info), or failed to (warn: the text was then loaded here). */
  log?: Pick<Logger, 'info' | 'warn'>;
  /** OFF_THREAD_BYTES unless given. */
  minBytes?: number;
  /** The worker's module (tests); config-worker beside this module unless given. */
  workerUrl?: URL;
  /**
   * The serving file's hash (text or config, as a reload compares them):
   * a text that has either is answered with UnchangedText. On a worker that
   * spares the loop a copy of a config it already serves (a SIGHUP after the
   * file watch applied the change, a comment edited).
   */
  unchangedHash?: string;
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
const workerUrl = () =>
  new URL(import.meta.url.endsWith('.ts') ? './config-worker.ts' : './config-worker.js', import.meta.url);

/**
 * Parses, validates and hashes `text` (read from `file`, which errors name):
 * on a worker thread when it is OFF_THREAD_BYTES or more, else here. Should
 * the worker fail (it could not start, or died), the work is done here: the
 * reload is slower, never lost.
 */
export async function loadOffThread(
  file: string,
  text: string,
  opts?: OffThreadOptions & { unchangedHash?: undefined },
): Promise<LoadedText>;
export async function loadOffThread(
  file: string,
  text: string,
  opts: OffThreadOptions,
): Promise<LoadedText | UnchangedText>;
export async function loadOffThread(
  file: string,
  text: string,
  opts: OffThreadOptions = {},
): Promise<LoadedText | UnchangedText> {
  if (text.length >= (opts.minBytes ?? OFF_THREAD_BYTES)) {
    const started = performance.now();
    try {
      const answer = await inWorker<LoadedText>(opts.workerUrl ?? workerUrl(), {
        file,
        text,
        unchangedHash: opts.unchangedHash,
      });
      const loaded = 'unchanged' in answer ? answer : { ...answer, text, onWorker: true };
      opts.log?.info(
        { file, chars: text.length, ms: Math.round(performance.now() - started) },
        'large config file parsed and validated on a worker thread',
      );
      return loaded;
    } catch (err) {
      opts.log?.warn(
        { file, err: (err as Error).message },
        'config worker failed: the file is parsed on the event loop',
      );
    }
  }
  const loaded = loadHashed(file, text);
  return unchangedText(loaded, opts.unchangedHash) ?? loaded;
}

/** UnchangedText when `loaded` is the file, or its config is the one, `unchangedHash` names. */
function unchangedText(loaded: LoadedText, unchangedHash: string | undefined): UnchangedText | undefined {
  if (!unchangedHash || (loaded.hash !== unchangedHash && loaded.textHash !== unchangedHash)) return undefined;
  return { unchanged: true, hash: loaded.hash, textHash: loaded.textHash };
}

/** loadConfigText, with the hashes a reload compares: what the worker (config-worker.ts) and the fallback here do. */
export function loadHashed(file: string, text: string): LoadedText {
  const loaded = loadConfigText(file, text);
  return { ...loaded, hash: loaded.raw ? fileHashOf(loaded.raw) : '', textHash: sha256(text) };
}

/**
 * What the worker posts: the loaded config as JSON texts when it comes back
 * from JSON exactly as it is (it always has: parsed YAML and what validation
 * adds are plain data), else the object itself. For 5,000 services the loop
 * parsed one JSON text of it in 22-80 ms, where structured clone's
 * deserialiser took 90-120 ms (both ~7 MB); in parts, it parses them in
 * slices between which requests are answered.
 */
export type WorkerAnswer<T extends FileLoadResult = LoadedText> = { parts: JsonParts } | { loaded: T } | UnchangedText;

/** A loaded config as JSON: all but the services, then the raw and the validated services, PART_SERVICES to a text. */
export interface JsonParts {
  head: string;
  raw: string[];
  config: string[];
}

/** ~350 KB of JSON, parsed in 2-4 ms here. */
export const PART_SERVICES = 250;

/** How long the loop parses parts before it answers requests again (slices.ts). */
const PARSE_SLICE_MS = 5;

export function workerAnswer(file: string, text: string, unchangedHash?: string): WorkerAnswer {
  const { text: _text, ...loaded } = loadHashed(file, text);
  const unchanged = unchangedText(loaded, unchangedHash);
  if (unchanged) return { ...unchanged, onWorker: true };
  return answerOf(loaded);
}

/** What the worker posts for a config object to validate (validateOffThread): its validated config, no raw. */
export function validatedAnswer(raw: unknown): WorkerAnswer<LoadResult> {
  return answerOf(validateConfig(raw));
}

function answerOf<T extends FileLoadResult>(loaded: T): WorkerAnswer<T> {
  return jsonExact(loaded) ? { parts: jsonParts(loaded) } : { loaded };
}

function jsonParts(loaded: FileLoadResult): JsonParts {
  const raw = Array.isArray(loaded.raw?.services) ? (loaded.raw.services as unknown[]) : [];
  const config = loaded.ok ? loaded.config.services : [];
  // The services' places stay where they were among the keys: `services: []` replaces them.
  const head = {
    ...loaded,
    ...(raw.length > 0 && { raw: { ...loaded.raw, services: [] } }),
    ...(config.length > 0 && { config: { ...(loaded.ok && loaded.config), services: [] } }),
  };
  const texts = (list: unknown[]) => {
    const out: string[] = [];
    for (let i = 0; i < list.length; i += PART_SERVICES) out.push(JSON.stringify(list.slice(i, i + PART_SERVICES)));
    return out;
  };
  return { head: JSON.stringify(head), raw: texts(raw), config: texts(config) };
}

function* fromParts<T extends FileLoadResult>(parts: JsonParts): Steps<T> {
  const loaded = JSON.parse(parts.head) as T & { raw: { services: unknown[] }; config: { services: unknown[] } };
  for (const part of parts.raw) {
    loaded.raw.services.push(...(JSON.parse(part) as unknown[]));
    yield;
  }
  for (const part of parts.config) {
    loaded.config.services.push(...(JSON.parse(part) as unknown[]));
    yield;
  }
  return loaded;
}

/** The worker's answer to `data`: UnchangedText, or what it loaded (its JSON parts parsed here in slices). */
async function inWorker<T extends FileLoadResult>(url: URL, data: unknown): Promise<T | UnchangedText> {
  const m = (await askConfigThread(url, data)) as WorkerAnswer<T>;
  if ('unchanged' in m) return m;
  if ('loaded' in m) return m.loaded;
  return runSliced(fromParts<T>(m.parts), PARSE_SLICE_MS);
}

/**
 * From this many services a config object (an admin edit, another node's
 * version) is validated on a worker thread: ~950 KB of YAML in a file.
 */
export const OFF_THREAD_SERVICES = 500;

/**
 * validateConfig, on a worker thread for a config of OFF_THREAD_SERVICES or
 * more (or `minServices`): for 5,000 services it held the event loop for
 * 150-400 ms, during which an admin edit stalled every request. The object
 * goes by structured clone, so it arrives exactly as it is. Should the
 * worker fail, it is validated here.
 */
export async function validateOffThread(
  raw: unknown,
  opts: Pick<OffThreadOptions, 'log' | 'workerUrl'> & { minServices?: number; what?: string } = {},
): Promise<LoadResult> {
  const services = (raw as { services?: unknown } | null)?.services;
  const min = opts.minServices ?? OFF_THREAD_SERVICES;
  if (Array.isArray(services) && services.length >= min) {
    const started = performance.now();
    try {
      const result = (await inWorker<LoadResult>(opts.workerUrl ?? workerUrl(), { raw })) as LoadResult;
      const what = opts.what ?? (services.length >= OFF_THREAD_SERVICES ? 'large config' : 'config');
      opts.log?.info(
        { services: services.length, ms: Math.round(performance.now() - started) },
        `${what} validated on a worker thread`,
      );
      return result;
    } catch (err) {
      opts.log?.warn(
        { err: (err as Error).message },
        'config worker failed: the config is validated on the event loop',
      );
    }
  }
  return validateConfig(raw);
}
