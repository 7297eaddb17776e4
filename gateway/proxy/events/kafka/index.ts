import { join } from 'node:path';
import type pino from 'pino';
import type { EventMetrics } from '../../../metrics.ts';
import type { KafkaSinkConfig } from './config.ts';
import { KafkaEventSink } from './kafka-sink.ts';
import { createEventProducer, type EventProducer } from './producer.ts';
import { KafkaLog } from './log.ts';

export type { KafkaSinkConfig } from './config.ts';
export type { KafkaEventSink, KafkaState } from './kafka-sink.ts';
export type { EventProducer } from './producer.ts';

/**
 * Opens (and recovers) the write-ahead log under `${config.dir}/spool` (the
 * directory name of the spool it replaced, so an upgrade ships what an older
 * version left there), then starts sending; never waits for Kafka. `producer`
 * is for fault tests that wrap the real one (a slow broker).
 */
export async function createKafkaSink(
  config: KafkaSinkConfig,
  metrics: EventMetrics,
  log: pino.Logger,
  producer: EventProducer = createEventProducer(config),
): Promise<KafkaEventSink> {
  let sink: KafkaEventSink | undefined;
  const wal = await KafkaLog.open(join(config.dir, 'spool'), {
    maxBytes: config.maxBytes,
    logger: log,
    onDrop: (count, reason) => sink?.noteLogDrop(count, reason),
  });
  sink = new KafkaEventSink(config, producer, wal, metrics, log);
  sink.start();
  return sink;
}
