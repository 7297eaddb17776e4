/**
 * Malformed and too-late records go, byte for byte, to `<topic>.dead-letter`
 * with the reason and where they came from in headers, so an operator can
 * inspect or re-drive them. Delivery there is at least once (a crash before
 * the commit sends a batch's dead letters again).
 */
import { Admin, Producer, ProduceAcks } from '@platformatic/kafka';

export interface DeadLetter {
  key: Buffer | undefined;
  value: Buffer;
  reason: string;
  source: string;
  offset: number;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dead-letter`;
}

export class DeadLetterSink {
  readonly topic: string;
  readonly #brokers: string[];
  readonly #producer: Producer;

  constructor(brokers: string[], topic: string, clientId: string) {
    this.topic = topic;
    this.#brokers = brokers;
    this.#producer = new Producer({ clientId: `${clientId}-dead-letter`, bootstrapBrokers: brokers });
  }

  /** Creates the topic when it is missing, rather than relying on broker auto-creation. */
  async ensureTopic(): Promise<void> {
    const admin = new Admin({ clientId: 'tollgate-collector-admin', bootstrapBrokers: this.#brokers });
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.topic)) {
        await admin.createTopics({ topics: [this.topic], partitions: 1, replicas: 1 }).catch((error: Error) => {
          if (
            !/already exists/i.test(
              String(error.message) + JSON.stringify((error as { errors?: unknown }).errors ?? ''),
            )
          )
            throw error;
        });
      }
    } finally {
      await admin.close();
    }
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.#producer.send({
      acks: ProduceAcks.ALL,
      messages: letters.map((letter) => ({
        topic: this.topic,
        key: letter.key,
        value: letter.value,
        // Header keys are bytes too: the producer's default serializers pass Buffers through untouched.
        headers: new Map([
          [Buffer.from('reason'), Buffer.from(letter.reason)],
          [Buffer.from('source'), Buffer.from(letter.source)],
          [Buffer.from('source-offset'), Buffer.from(String(letter.offset))],
        ]),
      })),
    });
  }

  async close(): Promise<void> {
    await this.#producer.close();
  }
}
