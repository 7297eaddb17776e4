import type { ThreadLogLine } from '../../../../shared/worker-thread.ts';
import type { KafkaSinkConfig } from './config.ts';

/** What the sender thread is started with. */
export interface SenderThreadOptions {
  config: KafkaSinkConfig;
  /** The log's directory (`${config.dir}/spool`). */
  dir: string;
  /** SharedState's buffer. */
  buffer: SharedArrayBuffer;
  /** A module whose `wrapProducer(real)` wraps the producer: fault tests only (a slow broker). */
  producerModule?: string;
}

export type ToSender = { op: 'close'; deliverMs: number; timeoutMs: number };

export type FromSender =
  | { type: 'ready' }
  /** Retention deleted the segments before `base`: their room is the writer's again. */
  | { type: 'oldest'; base: number }
  | { type: 'closed'; unsentEvents: number; error?: string }
  | ThreadLogLine;
