import { setPriority } from 'node:os';

/**
 * For the gateway's background threads (the collector and the Kafka sender at 19, the OTLP exporter at 5):
 * counting and shipping are background work. On Linux this lowers the calling thread alone (setpriority), so on a
 * busy core the proxy thread is not made to wait behind a batch.
 */
export function lowerThisThreadsPriority(nice = 19): void {
  try {
    setPriority(nice);
  } catch {
    // Not allowed here (a sandbox): the thread keeps the process's priority.
  }
}

/**
 * A thread's entry module beside the module that starts it (`from`: its import.meta.url), in the form that module
 * runs in: a source `.ts`, or built `.js` (tsc's dist/, and the bundle, which has an entry of that name beside its
 * chunks: scripts/bundle.ts).
 */
export function threadEntry(name: string, from: string): URL {
  return new URL(`./${name}.${from.endsWith('.ts') ? 'ts' : 'js'}`, from);
}

/** A log line a worker thread sends its parent, which writes it with its own logger. */
export interface ThreadLogLine {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  details: Record<string, unknown>;
  msg: string;
}

/** Log details cross the thread as plain data: an Error keeps its message and stack. */
function plain(details: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details))
    out[k] = v instanceof Error ? { message: v.message, stack: v.stack } : v;
  return out;
}

/** A logger (pino's call shape) whose lines go to `post`. */
export function threadLogger(post: (line: ThreadLogLine) => void) {
  const at =
    (level: ThreadLogLine['level']) =>
    (details: object, msg: string): void =>
      post({ type: 'log', level, details: plain(details), msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

type LineWriter = (details: object, msg: string) => void;

/** Writes a thread's line with `logger`; a logger without the level writes errors as warnings, debug not at all. */
export function writeThreadLog(
  logger: Partial<Record<ThreadLogLine['level'], LineWriter>> | undefined,
  line: ThreadLogLine,
): void {
  const write = logger?.[line.level] ?? (line.level === 'error' ? logger?.warn : undefined);
  write?.call(logger, line.details, line.msg);
}
