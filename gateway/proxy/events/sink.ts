import type { AccessEvent } from '../../../shared/access-event.ts';
import type { Unfinished } from './unfinished.ts';

/**
 * Where the gateway hands each access event: once per request, as its
 * response ends (or when it closes, for a response that never ended).
 */
export interface EventSink {
  /**
   * Takes the event or counts it as dropped (with a reason) — never blocks,
   * never throws, never loses one silently. `written`, when given, runs once
   * the event is in the local log (the page cache: it outlives the process),
   * or at once when it was dropped; the data plane ends the response then.
   */
  emit(event: AccessEvent, written?: () => void): void;
  /**
   * emit for an event already encoded (requestRecord): `record` may be a view that is overwritten once this
   * returns, so the sink copies what it keeps.
   */
  append(record: Buffer, written?: () => void): void;
  /** An event its caller could not encode: counted and logged as `encode_error`. */
  unencodable(error: Error): void;
  /** The journal of open requests' final events, should the gateway end before they do (set by createEventSink). */
  unfinished?: Unfinished;
  /** Sends or persists what is buffered (bounded by `timeoutMs`) and releases resources. */
  close(timeoutMs: number): Promise<void>;
}

/** Why an event was not kept; the `reason` label of tollgate_events_dropped_total. */
export type DropReason =
  | 'spool_full'
  | 'log_full'
  | 'encode_error'
  | 'backlog'
  | 'invalid_size'
  | 'io_error'
  | 'closed';
