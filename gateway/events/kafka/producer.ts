import { findErrorBy, NetworkError, ProduceAcks, Producer, type CompressionAlgorithmValue } from '@platformatic/kafka';

/**
 * What the Kafka sink needs from a client library, so the library is
 * swappable. @platformatic/kafka was chosen over kafkajs by
 * test/bench/events/kafka-producer.bench.ts (see README.md beside this file).
 */
export interface EventProducer {
  /** Resolves once the broker acknowledged every record (acks=all); one call in flight at a time. */
  send(records: Buffer[]): Promise<void>;
  /** Resolves once the broker answers for the topic; how the sink learns Kafka is back when it has nothing to send. */
  connect(): Promise<void>;
  close(): Promise<void>;
}

export interface EventProducerConfig {
  brokers: string[];
  topic: string;
  clientId: string;
  compression: CompressionAlgorithmValue;
  /** Per request; the sink also gives up on a whole send after this long. */
  timeoutMs: number;
}

// The library may retry a request a little (a leader change, a dropped socket);
// longer outages are the sink's business: it spools and retries from disk.
const LIBRARY_RETRIES = 2;
const LIBRARY_RETRY_DELAY_MS = 100;

export function createEventProducer(config: EventProducerConfig): EventProducer {
  const producer = new Producer({
    clientId: config.clientId,
    bootstrapBrokers: config.brokers,
    // Idempotent: a request the library retries is written once, and in order
    // (the library then keeps one request in flight per connection).
    idempotent: true,
    acks: ProduceAcks.ALL,
    compression: config.compression,
    timeout: config.timeoutMs,
    connectTimeout: Math.min(config.timeoutMs, 5000),
    retries: LIBRARY_RETRIES,
    retryDelay: LIBRARY_RETRY_DELAY_MS,
    // Creates the topic only where the broker allows it (tests); production brokers usually do not.
    autocreateTopics: true,
  });
  const topic = config.topic;
  // One partition per batch, rotating: a batch stays one compressed record batch,
  // and order holds within each partition (the library takes this modulo the partition count).
  let batches = 0;
  return {
    async send(records) {
      const partition = batches++ % 0x7fffffff;
      await producer.send({ messages: records.map((value) => ({ topic, value, partition })) });
    },
    async connect() {
      try {
        await producer.metadata({ topics: [topic], autocreateTopics: true, forceUpdate: true, retries: 0 });
      } catch (error) {
        // Any answer proves the broker is there (a topic being auto-created answers "unknown topic" first).
        if (findErrorBy(error as Error, 'code', NetworkError.code)) throw error;
      }
    },
    async close() {
      await producer.close(true);
    },
  };
}
