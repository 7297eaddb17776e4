import { join } from 'node:path';
import type pino from 'pino';
import type { EventMetrics } from '../../metrics.ts';
import { resolveKafkaSinkConfig, type KafkaSinkConfig } from './config.ts';
import { KafkaEventSink } from './kafka-sink.ts';
import { createEventProducer, type EventProducer } from './producer.ts';
import { KafkaSpool } from './spool.ts';

export type { KafkaSinkConfig } from './config.ts';
export type { KafkaEventSink, KafkaState } from './kafka-sink.ts';
export type { EventProducer } from './producer.ts';

/**
 * Opens (and recovers) the spool under `${config.dir}/spool`, then starts
 * sending; never waits for Kafka. `producer` is for fault tests that wrap the
 * real one (a slow broker).
 */
export async function createKafkaSink(
  config: KafkaSinkConfig, metrics: EventMetrics, log: pino.Logger, producer: EventProducer = createEventProducer(config),
): Promise<KafkaEventSink> {
  let sink: KafkaEventSink | undefined;
  const spool = await KafkaSpool.open(join(config.dir, 'spool'), {
    maxBytes: config.maxBytes,
    logger: log,
    onDrop: (count, reason) => sink?.noteSpoolDrop(count, reason),
  });
  sink = new KafkaEventSink(resolveKafkaSinkConfig(config), producer, spool, metrics, log);
  sink.start();
  return sink;
}
