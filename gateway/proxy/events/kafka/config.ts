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
  /** A send not acknowledged within this counts as failed; its events stay in the log and are sent again. */
  timeoutMs: number;
  /** The write-ahead log lives in `${dir}/spool`. */
  dir: string;
  /** Disk bound of the log. */
  maxBytes: number;
}
