/** What createKafkaSink takes: `events.kafka.*`, `events.dir` and `events.max_bytes` of the gateway config. */
export interface KafkaSinkConfig {
  brokers: string[];
  topic: string;
  clientId: string;
  /** A batch is sent at most this long after its first event. */
  flushMs: number;
  /** A batch is sent once it holds this many events. */
  batchEvents: number;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** A send not acknowledged within this counts as failed; its events go to (or stay in) the spool. */
  timeoutMs: number;
  /** The spool lives in `${dir}/spool`. */
  dir: string;
  /** Disk bound of the spool. */
  maxBytes: number;
  /** Bound on events held in memory (default 10,000); past it they go to the spool. */
  maxQueueEvents?: number;
  /** Bound on bytes held in memory (default 4 MiB); past it they go to the spool. */
  maxQueueBytes?: number;
}

export type ResolvedKafkaSinkConfig = Required<KafkaSinkConfig>;

const DEFAULT_MAX_QUEUE_EVENTS = 10_000;
const DEFAULT_MAX_QUEUE_BYTES = 4 * 1024 * 1024;

export function resolveKafkaSinkConfig(config: KafkaSinkConfig): ResolvedKafkaSinkConfig {
  return {
    ...config,
    maxQueueEvents: config.maxQueueEvents ?? DEFAULT_MAX_QUEUE_EVENTS,
    maxQueueBytes: config.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
  };
}
