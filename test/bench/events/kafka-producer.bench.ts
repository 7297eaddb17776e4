// The Kafka producer library for the gateway's event sink, chosen by this
// benchmark: @platformatic/kafka against kafkajs on the sink's own pattern —
// encoded access events (~135 B) sent in batches of 1000 with acks=all, an
// idempotent producer, one batch in flight, the same compression — to the
// real broker. Prints events/s and CPU-µs per event (this process only: user
// + system) and the ratio. Rounds of the two are interleaved; each reports its
// median round.
//
// Run: node_modules/.bin/node test/bench/events/kafka-producer.bench.ts
// Needs Kafka (`npm run services:up`; TOLLGATE_TEST_KAFKA_BROKERS, default
// 127.0.0.1:9192). kafkajs lost, so it is not a dependency; to rerun the
// comparison: `npm i --no-save kafkajs` first. Without it only the winner runs.
import { randomUUID } from 'node:crypto';
import { Admin, ProduceAcks, Producer, type CompressionAlgorithmValue } from '@platformatic/kafka';
import { encode } from '../../../shared/access-event-codec.ts';
import { sampleEvents } from './sample-events.ts';

const brokers = (process.env.TOLLGATE_TEST_KAFKA_BROKERS ?? '127.0.0.1:9192').split(',');
const events = Number(process.env.BENCH_KAFKA_EVENTS ?? 200_000);
const batchEvents = Number(process.env.BENCH_KAFKA_BATCH ?? 1000);
const rounds = Number(process.env.BENCH_KAFKA_ROUNDS ?? 3);
// kafkajs has only none and gzip built in (the rest need add-on codecs), so lz4 and zstd run alone.
const compressions = (process.env.BENCH_KAFKA_COMPRESSION ?? 'none,gzip,lz4,zstd').split(
  ',',
) as CompressionAlgorithmValue[];

interface BenchProducer {
  readonly name: string;
  send(values: Buffer[], partition: number): Promise<void>;
  close(): Promise<void>;
}

function platformatic(topic: string, compression: CompressionAlgorithmValue): BenchProducer {
  const producer = new Producer({
    clientId: 'tollgate-bench',
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    compression,
  });
  return {
    name: '@platformatic/kafka',
    async send(values, partition) {
      await producer.send({ messages: values.map((value) => ({ topic, value, partition })) });
    },
    close: () => producer.close(),
  };
}

/** The slice of kafkajs used here; it is loaded by name so this file typechecks without it. */
interface KafkaJs {
  Kafka: new (config: object) => { producer(config: object): KafkaJsProducer };
  logLevel: { NOTHING: number };
}
interface KafkaJsProducer {
  connect(): Promise<void>;
  send(record: object): Promise<unknown>;
  disconnect(): Promise<void>;
}
const KAFKAJS_CODES: Record<string, number> = { none: 0, gzip: 1 };

async function loadKafkaJs(): Promise<KafkaJs | undefined> {
  const name = 'kafkajs';
  try {
    const loaded = (await import(name)) as { default: KafkaJs };
    return loaded.default;
  } catch {
    return undefined;
  }
}

async function kafkajs(lib: KafkaJs, topic: string, compression: CompressionAlgorithmValue): Promise<BenchProducer> {
  const code = KAFKAJS_CODES[compression];
  if (code === undefined) throw new Error(`kafkajs has no built-in ${compression} codec`);
  const kafka = new lib.Kafka({ clientId: 'tollgate-bench', brokers, logLevel: lib.logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  return {
    name: 'kafkajs',
    async send(values, partition) {
      await producer.send({
        topic,
        acks: -1,
        compression: code,
        messages: values.map((value) => ({ value, partition })),
      });
    },
    close: () => producer.disconnect(),
  };
}

interface Run {
  eventsPerS: number;
  cpuUsPerEvent: number;
}

async function produce(producer: BenchProducer, records: Buffer[], count: number): Promise<Run> {
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  for (let sent = 0; sent < count; sent += batchEvents) {
    const batch: Buffer[] = [];
    for (let i = sent; i < Math.min(count, sent + batchEvents); i++) batch.push(records[i % records.length]);
    await producer.send(batch, 0);
  }
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  return { eventsPerS: count / (wallMs / 1000), cpuUsPerEvent: (cpu.user + cpu.system) / count };
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

async function main(): Promise<void> {
  const records = sampleEvents(20_000).map((e) => Buffer.from(encode(e)));
  const meanBytes = records.reduce((n, r) => n + r.length, 0) / records.length;
  console.log(
    `# ${events} events of ${meanBytes.toFixed(0)} B mean, batches of ` +
      `${batchEvents}, acks=all, idempotent, one batch in flight; ${rounds} interleaved rounds, median`,
  );
  const lib = await loadKafkaJs();
  if (lib === undefined)
    console.log('# kafkajs is not installed (npm i --no-save kafkajs to compare); running @platformatic/kafka alone');
  const admin = new Admin({ clientId: 'tollgate-bench-admin', bootstrapBrokers: brokers });
  const topics: string[] = [];
  try {
    for (const compression of compressions) {
      const producers: BenchProducer[] = [];
      const withKafkaJs = lib !== undefined && KAFKAJS_CODES[compression] !== undefined;
      for (const make of [
        platformatic,
        ...(withKafkaJs ? [(t: string, c: CompressionAlgorithmValue) => kafkajs(lib, t, c)] : []),
      ]) {
        const topic = `tollgate-bench-${randomUUID()}`;
        await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
        topics.push(topic);
        const producer = await make(topic, compression);
        await produce(producer, records, Math.min(events, 20_000));
        producers.push(producer);
      }
      const runs = producers.map((): Run[] => []);
      for (let round = 0; round < rounds; round++) {
        // Alternate who goes first, so neither always meets a broker busy with the other's writes.
        const order = round % 2 === 0 ? producers.map((_, i) => i) : producers.map((_, i) => i).reverse();
        for (const i of order) runs[i].push(await produce(producers[i], records, events));
      }
      const results = producers.map((p, i) => ({
        name: p.name,
        eventsPerS: median(runs[i].map((r) => r.eventsPerS)),
        cpuUsPerEvent: median(runs[i].map((r) => r.cpuUsPerEvent)),
      }));
      for (const r of results) {
        console.log(
          `${compression.padEnd(5)} ${r.name.padEnd(20)} ` +
            `${(r.eventsPerS / 1000).toFixed(0).padStart(6)} k ` +
            `events/s  ${r.cpuUsPerEvent.toFixed(2).padStart(6)} CPU-µs/event`,
        );
      }
      if (results.length === 2) {
        const [a, b] = results;
        console.log(
          `${compression.padEnd(5)} ${a.name} / ${b.name}: ` +
            `${(a.eventsPerS / b.eventsPerS).toFixed(2)}x events/s, ` +
            `${(b.cpuUsPerEvent / a.cpuUsPerEvent).toFixed(2)}x less CPU per event`,
        );
      }
      for (const p of producers) await p.close();
    }
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.close();
  }
}

await main();
