/**
 * Test support for the collector suites: real Kafka and ClickHouse from
 * scripts/services.sh, a fresh topic, group and migrated database per test.
 * Without the services a laptop skips with the command to run; CI=true fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Admin, Producer, ProduceAcks } from '@platformatic/kafka';
import type { ClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { createClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { migrate } from '../../collector/clickhouse/migrate.ts';

const kafka = process.env.TOLLGATE_TEST_KAFKA_BROKERS;
const clickhouse = process.env.TOLLGATE_TEST_CLICKHOUSE_URL;

export const skipWithoutServices: string | false =
  (!kafka || !clickhouse) && process.env.CI !== 'true'
    ? 'TOLLGATE_TEST_KAFKA_BROKERS or TOLLGATE_TEST_CLICKHOUSE_URL is ' +
      'unset; run `npm run services:up` and export the variables it prints'
    : false;

export interface Scratch {
  brokers: string[];
  clickhouseUrl: string;
  topic: string;
  groupId: string;
  database: string;
  /** Client with the scratch database as default. */
  db: ClickHouseClient;
  partitions: number;
}

/** Runs fn with its own topic (and dead-letter topic), group and migrated database, removed afterwards. */
export async function withScratch(partitions: number, fn: (scratch: Scratch) => Promise<void>): Promise<void> {
  assert.ok(
    kafka && clickhouse,
    'CI=true requires TOLLGATE_TEST_KAFKA_BROKERS and TOLLGATE_TEST_CLICKHOUSE_URL (`npm run services:up`)',
  );
  const id = randomBytes(6).toString('hex');
  const brokers = kafka.split(',');
  const topic = `tollgate-test-${id}`;
  const database = `tollgate_test_${id}`;
  const server = createClickHouseClient({ url: clickhouse });
  const admin = new Admin({ clientId: 'tollgate-test-admin', bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  await migrate({ client: server, database });
  try {
    await fn({
      brokers,
      clickhouseUrl: clickhouse,
      topic,
      groupId: `tollgate-test-${id}`,
      database,
      db: server.withDatabase(database),
      partitions,
    });
  } finally {
    await admin.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
    await admin.close();
    await server.exec(`DROP DATABASE IF EXISTS ${database}`);
  }
}

export interface Record_ {
  partition: number;
  value: Buffer;
}

/** Produces records in order (acks=all) and returns how many went to each partition. */
export async function produce(brokers: string[], topic: string, records: readonly Record_[]): Promise<void> {
  const producer = new Producer({ clientId: 'tollgate-test-producer', bootstrapBrokers: brokers });
  try {
    for (let i = 0; i < records.length; i += 500) {
      const chunk = records.slice(i, i + 500);
      await producer.send({
        acks: ProduceAcks.ALL,
        messages: chunk.map((r) => ({ topic, partition: r.partition, value: r.value })),
      });
    }
  } finally {
    await producer.close();
  }
}

/** The group's committed offset per partition (absent = nothing committed). */
export async function committedOffsets(
  brokers: string[],
  groupId: string,
  topic: string,
): Promise<Map<number, number>> {
  const admin = new Admin({ clientId: 'tollgate-test-admin', bootstrapBrokers: brokers });
  try {
    const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const out = new Map<number, number>();
    for (const t of group?.topics ?? []) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset));
    }
    return out;
  } finally {
    await admin.close();
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
