// Shared by the Kafka sink suites: the broker from the environment, events
// numbered so order and loss are visible, a consumer that reads a whole topic,
// and a logger whose lines a test can inspect.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Consumer, MessagesStreamModes } from '@platformatic/kafka';
import pino from 'pino';
import { Registry } from 'prom-client';
import { type AccessEvent, PLAIN_HTTP1 } from '../../shared/access-event.ts';
import { decode } from '../../shared/access-event-codec.ts';
import { EventIdGenerator } from '../../shared/access-event-id.ts';
import { createEventMetrics, type EventMetrics } from '../../gateway/metrics.ts';
import {
  createKafkaSink,
  type KafkaEventSink,
  type KafkaSinkConfig,
  type KafkaSinkOptions,
} from '../../gateway/proxy/events/kafka/index.ts';
import { SegmentReader } from '../../shared/segment-log/segment-reader.ts';

/** The brokers, or undefined after marking the test skipped; with CI=true a missing Kafka fails. */
export function kafkaBrokers(t: TestContext): string[] | undefined {
  const value = process.env.TOLLGATE_TEST_KAFKA_BROKERS;
  if (value) return value.split(',');
  if (process.env.CI === 'true') {
    assert.fail(
      'TOLLGATE_TEST_KAFKA_BROKERS is unset but CI=true: the Kafka sink suites must run in CI (npm run services:up)',
    );
  }
  t.skip('TOLLGATE_TEST_KAFKA_BROKERS is unset; start Kafka with `npm run services:up` and export the line it prints');
  return undefined;
}

const LOCK_DIR = join(tmpdir(), 'tollgate-test-kafka.lock');

/**
 * Held by each test here that talks to the broker, across test files (the runner
 * runs files in parallel processes): kafka-outage.test.ts stops the shared broker,
 * which must not happen in the middle of another of these tests. Released after the test.
 */
export async function holdKafkaLock(t: TestContext, timeoutMs = 90_000): Promise<void> {
  const endMs = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(join(LOCK_DIR, 'pid'), String(process.pid));
      t.after(() => rm(LOCK_DIR, { recursive: true, force: true }));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(await readFile(join(LOCK_DIR, 'pid'), 'utf8').catch(() => '0'));
    if (holder > 0 && !isAlive(holder)) await rm(LOCK_DIR, { recursive: true, force: true });
    else if (Date.now() > endMs) assert.fail(`the Kafka test lock ${LOCK_DIR} is still held by pid ${holder}`);
    else await sleep(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const randomTopic = () => `tollgate-sink-test-${randomUUID()}`;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true or `timeoutMs` passes; returns the last answer. */
export async function eventually(check: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const endMs = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > endMs) return false;
    await sleep(stepMs);
  }
  return true;
}

const ids = new EventIdGenerator();

/** Event number `index` (carried in bytesIn), with a fresh id; ~130 bytes encoded. */
export function numberedEvent(index: number): AccessEvent {
  return {
    id: ids.next(),
    startMs: Date.now(),
    node: 'gw-test-1',
    appId: 'app_3f9a1c2e',
    service: 'orders',
    route: 'orders.list',
    method: 'GET',
    status: 200,
    upstreamStatus: 200,
    totalUs: 1500,
    upstreamUs: 1200,
    gatewayUs: 300,
    bytesIn: index,
    bytesOut: 5120,
    clientIp: '10.1.2.3',
    target: 'http://10.0.0.7:8080',
    errorClass: 'none',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    ...PLAIN_HTTP1,
  };
}

export function sinkConfig(
  overrides: Partial<KafkaSinkConfig> & Pick<KafkaSinkConfig, 'brokers' | 'topic' | 'dir'>,
): KafkaSinkConfig {
  return {
    clientId: 'tollgate-sink-test',
    flushMs: 20,
    batchEvents: 1000,
    compression: 'lz4',
    timeoutMs: 2000,
    maxBytes: 64 * 1024 * 1024,
    ...overrides,
  };
}

/** createKafkaSink, closed after the test even when an assertion fails first (its sender would keep the process alive).
 * */
export async function openSink(
  t: TestContext,
  config: KafkaSinkConfig,
  metrics: EventMetrics,
  log: pino.Logger,
  options?: KafkaSinkOptions,
): Promise<KafkaEventSink> {
  const sink = await createKafkaSink(config, metrics, log, options);
  t.after(() => sink.close(2000));
  return sink;
}

export function testMetrics(): { metrics: EventMetrics; register: Registry } {
  const register = new Registry();
  return { metrics: createEventMetrics(register), register };
}

export async function droppedCount(register: Registry, reason: string): Promise<number> {
  const metric = await register.getSingleMetric('tollgate_events_dropped_total')?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** A logger that keeps every line (parsed) for the test to look at. */
export function capturedLogger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/**
 * Every record in the topic's partitions, decoded, in offset order per partition
 * (partition 0 first). Reads up to the end offsets taken at the start.
 */
export async function readTopic(brokers: string[], topic: string, timeoutMs = 30_000): Promise<AccessEvent[]> {
  const consumer = new Consumer({
    clientId: 'tollgate-sink-test-reader',
    groupId: `tollgate-sink-test-${randomUUID()}`,
    bootstrapBrokers: brokers,
    maxWaitTime: 200,
    timeout: 5000,
  });
  try {
    const endOffsets = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
    const total = endOffsets.reduce((n, o) => n + Number(o), 0);
    const byPartition = endOffsets.map((): AccessEvent[] => []);
    if (total === 0) return [];
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
      maxWaitTime: 200,
    });
    const timer = setTimeout(() => void stream.close(), timeoutMs);
    let read = 0;
    try {
      for await (const message of stream) {
        byPartition[message.partition].push(decode(message.value as Buffer));
        if (++read >= total) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close();
    }
    assert.equal(read, total, `read the whole topic (${read} of ${total} records) within ${timeoutMs} ms`);
    return byPartition.flat();
  } finally {
    await closeConsumer(consumer);
  }
}

/**
 * Closes a reader's consumer. Right after the broker restarted (the outage
 * suite runs just before the sink's), its LeaveGroup can be refused ("not the
 * correct coordinator") while the group coordinator moves; the library then
 * keeps the consumer open, and the error would replace what was read. One
 * more try after the coordinator settles; a second failure is thrown.
 */
async function closeConsumer(consumer: Consumer): Promise<void> {
  try {
    await consumer.close(true);
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await consumer.close(true);
  }
}

/** Indexes (bytesIn) of `events`, with how many ids repeat. */
export function summarize(events: AccessEvent[]): { indexes: number[]; duplicateIds: number } {
  const seen = new Set<string>();
  let duplicateIds = 0;
  for (const e of events) {
    if (seen.has(e.id)) duplicateIds += 1;
    seen.add(e.id);
  }
  return { indexes: events.map((e) => e.bytesIn), duplicateIds };
}

export const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The events a (closed) sink left in its spool under `dir`, oldest first; read without committing. */
export async function readSpool(dir: string): Promise<AccessEvent[]> {
  const reader = await SegmentReader.open(join(dir, 'spool'));
  try {
    const events: AccessEvent[] = [];
    let from = reader.committed;
    for (;;) {
      const { records, next } = await reader.read(from, 4096);
      for (const record of records) events.push(decode(record.payload));
      if (records.length === 0) return events;
      from = next;
    }
  } finally {
    await reader.close();
  }
}

export { closedPort } from '../helpers/ports.ts';
