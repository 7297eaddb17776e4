import type { AccessEvent } from '../../shared/access-event.ts';

/**
 * Where the gateway hands each access event. Called once per request after
 * the response completed; never awaited on the request path.
 */
export interface EventSink {
  /**
   * Takes the event or counts it as dropped (with a reason) — never blocks,
   * never throws, never loses one silently.
   */
  emit(event: AccessEvent): void;
  /** Sends or persists what is buffered (bounded by `timeoutMs`) and releases resources. */
  close(timeoutMs: number): Promise<void>;
}

/** Why an event was not kept; the `reason` label of tollgate_events_dropped_total. */
export type DropReason = 'spool_full' | 'log_full' | 'encode_error' | 'backlog' | 'invalid_size' | 'io_error' | 'closed';
