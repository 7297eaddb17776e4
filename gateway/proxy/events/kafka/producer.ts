import {
  ConnectionPool,
  createAPI,
  findErrorBy,
  NetworkError,
  ProduceAcks,
  Producer,
  produceV9,
  Writer,
  type CompressionAlgorithmValue,
} from '@platformatic/kafka';
import { encodeRecordBatch, type BatchProducer } from './record-batch.ts';

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
    // The library's connections time a request out after requestTimeout (30 s by default, whatever
    // `timeout` says): a request the sink gave up on would stay open that long, with the library's
    // de-duplicated metadata and producer-id calls queued behind it.
    requestTimeout: config.timeoutMs,
    retries: LIBRARY_RETRIES,
    retryDelay: LIBRARY_RETRY_DELAY_MS,
    // Creates the topic only where the broker allows it (tests); production brokers usually do not.
    autocreateTopics: true,
  });
  // The library's connections, metadata and producer-id handshake are used as they are;
  // only the record batch is ours (record-batch.ts: the library's own costs ~4x the CPU per event).
  const pool = new ConnectionPool(config.clientId, {
    connectTimeout: Math.min(config.timeoutMs, 5000),
    requestTimeout: config.timeoutMs,
  });
  const topic = config.topic;
  const timeoutMs = config.timeoutMs;
  // Produce v9 (Kafka 2.4+): the first flexible version, laid out as the library's own v9-v11 requests.
  const produce = createAPI<[Buffer, number], unknown>(
    0,
    9,
    (batch: Buffer, partition: number) =>
      Writer.create()
        .appendString(null)
        .appendInt16(ProduceAcks.ALL)
        .appendInt32(timeoutMs)
        .appendArray([topic], (w) => {
          w.appendString(topic).appendArray([partition], (w) => {
            w.appendInt32(partition)
              .appendUnsignedVarInt(batch.length + 1)
              .append(batch);
          });
        })
        .appendTaggedFields(),
    produceV9.parseResponse,
  );
  // Idempotence by hand: one producer id, a sequence per partition. After any failure
  // (or a send that overlaps one the sink gave up on) the next send starts over with a
  // new producer id, so a stale sequence can never wedge a partition; the batch is sent
  // again from the spool and may be written twice (at least once; the collector counts ids once).
  let ids: { producerId: bigint; producerEpoch: number } | undefined;
  const sequences = new Map<number, number>();
  let generation = 0;
  let pending = 0;
  let refreshMetadata = false;
  // One partition per batch, rotating: a batch is one record batch,
  // and order holds within each partition.
  let batches = 0;
  const restart = () => {
    ids = undefined;
    sequences.clear();
    refreshMetadata = true;
    generation++;
  };
  return {
    async send(records) {
      if (pending > 0) restart();
      pending++;
      const mine = generation;
      try {
        ids ??= await producer.initIdempotentProducer({});
        const metadata = await producer.metadata({
          topics: [topic],
          autocreateTopics: true,
          forceUpdate: refreshMetadata,
        });
        refreshMetadata = false;
        const topicMetadata = metadata.topics.get(topic);
        if (!topicMetadata) throw new Error(`no metadata for topic ${topic}`);
        const partition = batches++ % topicMetadata.partitionsCount;
        const broker = metadata.brokers.get(topicMetadata.partitions[partition].leader);
        if (!broker) throw new Error(`no leader for ${topic}/${partition}`);
        const connection = await pool.get(broker);
        const producerState: BatchProducer = { ...ids, baseSequence: sequences.get(partition) ?? 0 };
        await produce.async(
          connection,
          encodeRecordBatch(records, config.compression, producerState, Date.now()),
          partition,
        );
        // Kafka sequences wrap from 2^31-1 to 0.
        if (mine === generation) sequences.set(partition, (producerState.baseSequence + records.length) % 0x80000000);
      } catch (error) {
        if (mine === generation) restart();
        throw error;
      } finally {
        pending--;
      }
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
      await pool.close();
      await producer.close(true);
    },
  };
}
