/**
 * The final events of requests still open a second or more (a WebSocket, a TCP connection through a stream, a gRPC
 * stream, a long download), kept in a file beside the event log so that each is counted once even when the gateway
 * never reaches its end (SIGKILL, a crash, the machine's OOM killer). Its interim events in the log carried its
 * traffic; its final event is the request itself, and only its end wrote one.
 *
 * Once it has been open KEEP_CUT_AFTER_MS (access-event.ts), and with each interim event, goes a line `<id>
 * <base64>`: the final event the request would get were the gateway to end then (cutRecord, cutStreamRecord: its
 * status so far, its duration until then, closed for `gateway_ended`); its own final event writes `<id> -` first.
 * The next start on the same directory appends the last line of each id not settled to the log, and the file
 * starts again empty.
 *
 * The lines of one turn of the event loop (a sweep's, the ends in it) are appended together in a microtask, so
 * before the log's group commit of that turn (a setImmediate) and to the page cache, which outlives the process, as
 * the log's writes do. At most once: the settling line is written before the final event reaches the log, and the
 * file is emptied before what it kept is appended, so a kill in either gap loses that one request's count, as every
 * such request was lost before.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.ts';
import { decode } from '../../../shared/access-event-codec.ts';
import type { EventSink } from './sink.ts';

/** Past this size, and twice what the requests still open need, the file is written again with their lines only. */
const COMPACT_BYTES = 1024 * 1024;

export class Unfinished {
  readonly #path: string;
  readonly #log: Logger;
  /** Each open request's id in the file and its last line. */
  readonly #open = new Map<object, { id: number; line: string }>();
  #nextId = 1;
  /** Lines not written yet: the flush of this turn's microtask writes them. */
  #pending = '';
  #fileBytes = 0;
  /** The length of the open requests' lines: what compacting leaves. */
  #liveBytes = 0;
  #failing = false;
  /** How many final events the start appended from what a gateway before it left (open). */
  recovered = 0;

  private constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /**
   * The journal in `dir`: what a gateway that ended before its requests did left there is appended to `sink` (a
   * last line without its newline, or one whose record does not decode, is skipped), and the file emptied first.
   * The journals in `orphans` (directories no process of this run writes: events/index.ts) are taken over the same
   * way, and left empty.
   */
  static open(dir: string, sink: EventSink, log: Logger, orphans: string[] = []): Unfinished {
    const journal = new Unfinished(join(dir, 'unfinished'), log);
    mkdirSync(dir, { recursive: true });
    let appended = takeOver(journal.#path, sink, true);
    for (const other of orphans) appended += takeOver(join(other, 'unfinished'), sink, false);
    if (appended > 0) log.warn({ requests: appended }, 'requests the gateway ended before they did were recorded');
    journal.recovered = appended;
    return journal;
  }

  /** `key`'s final event, should the gateway end before it does (the previous one is replaced). */
  note(key: object, record: Buffer): void {
    let entry = this.#open.get(key);
    if (entry === undefined) {
      entry = { id: this.#nextId++, line: '' };
      this.#open.set(key, entry);
    }
    this.#liveBytes -= entry.line.length;
    entry.line = `${entry.id} ${record.toString('base64')}\n`;
    this.#liveBytes += entry.line.length;
    this.#write(entry.line);
  }

  /** `key` is about to write its own final event: the one kept for it is dropped. */
  settle(key: object): void {
    const entry = this.#open.get(key);
    if (entry === undefined) return;
    this.#open.delete(key);
    this.#liveBytes -= entry.line.length;
    this.#write(`${entry.id} -\n`);
  }

  /** How many requests have a final event kept here (tests). */
  get size(): number {
    return this.#open.size;
  }

  #write(line: string): void {
    if (this.#pending === '') queueMicrotask(this.#flush);
    this.#pending += line;
  }

  readonly #flush = (): void => {
    const lines = this.#pending;
    this.#pending = '';
    try {
      if (this.#fileBytes > Math.max(COMPACT_BYTES, 2 * this.#liveBytes)) this.#compact();
      else {
        appendFileSync(this.#path, lines, 'latin1');
        this.#fileBytes += lines.length;
      }
      this.#failing = false;
    } catch (err) {
      // The events themselves go on: only a request the gateway's end then cuts goes uncounted.
      if (!this.#failing) this.#log.warn({ err: (err as Error).message }, 'cannot write the unfinished-requests file');
      this.#failing = true;
    }
  };

  /**
   * The file again with the open requests' lines only (their latest, pending ones included), swapped in whole: a
   * kill leaves the old or the new one.
   */
  #compact(): void {
    let text = '';
    for (const entry of this.#open.values()) text += entry.line;
    writeFileSync(`${this.#path}.new`, text, 'latin1');
    renameSync(`${this.#path}.new`, this.#path);
    this.#fileBytes = text.length;
  }
}

/**
 * Appends to `sink` the final events the journal at `path` kept and never settled, once it is emptied (made, with
 * `create`, when it is not there); returns how many.
 */
function takeOver(path: string, sink: EventSink, create: boolean): number {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (create) writeFileSync(path, '');
    return 0;
  }
  const left = new Map<string, string>();
  // What follows the last newline is a line cut short, or nothing.
  for (const line of text.split('\n').slice(0, -1)) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const id = line.slice(0, space);
    const rest = line.slice(space + 1);
    if (rest === '-') left.delete(id);
    else left.set(id, rest);
  }
  if (text !== '') writeFileSync(path, '');
  let appended = 0;
  for (const base64 of left.values()) {
    const record = Buffer.from(base64, 'base64');
    try {
      decode(record);
    } catch {
      continue;
    }
    sink.append(record);
    appended++;
  }
  return appended;
}
