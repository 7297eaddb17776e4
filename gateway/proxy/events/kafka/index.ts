import type pino from 'pino';
import type { EventMetrics } from '../../../metrics.ts';
import type { KafkaSinkConfig } from './config.ts';
import { KafkaEventSink, type KafkaSinkOptions } from './kafka-sink.ts';

export { adoptSpools } from './adopt-spools.ts';
export type { KafkaSinkConfig } from './config.ts';
export type { KafkaEventSink, KafkaSinkOptions, KafkaState } from './kafka-sink.ts';
export type { EventProducer } from './producer.ts';

/**
 * Opens (and recovers) the write-ahead log under `${config.dir}/spool` (the
 * directory name of the spool it replaced, so an upgrade ships what an older
 * version left there), then starts the sender thread; never waits for Kafka.
 */
export function createKafkaSink(
  config: KafkaSinkConfig,
  metrics: EventMetrics,
  log: pino.Logger,
  options?: KafkaSinkOptions,
): Promise<KafkaEventSink> {
  return KafkaEventSink.open(config, metrics, log, options);
}
