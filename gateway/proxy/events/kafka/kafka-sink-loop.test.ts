// The sender loop runs on the gateway's main thread: whatever its producer and
// log do, it must let timers (and so the proxy) run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createEventMetrics } from '../../../metrics.ts';
import type { KafkaSinkConfig } from './config.ts';
import { KafkaEventSink } from './kafka-sink.ts';
import type { EventProducer } from './producer.ts';
import type { KafkaLog } from './log.ts';

const config: KafkaSinkConfig = {
  brokers: ['127.0.0.1:1'],
  topic: 't',
  clientId: 'c',
  flushMs: 20,
  batchEvents: 1000,
  compression: 'none',
  timeoutMs: 3000,
  dir: '/nonexistent',
  maxBytes: 1 << 20,
};

/** A log that always has something pending but whose reads find nothing, answering at once (no I/O). */
function stuckLog(onRead: () => void): KafkaLog {
  const spool = {
    pending: true,
    unsentBytes: 1,
    unsentEvents: 1,
    endPosition: 1,
    readPosition: 0,
    stats: { appended: 0, written: 0, dropped: 0, recoveredTruncatedBytes: 0 },
    countUnsent: async () => undefined,
    read: async () => {
      onRead();
      return { records: [], next: 0 };
    },
    append: () => true,
    delivered: () => undefined,
    close: async () => {
      spool.pending = false;
    },
  };
  return spool as unknown as KafkaLog;
}

const instantProducer: EventProducer = {
  connect: async () => undefined,
  send: async () => undefined,
  close: async () => undefined,
};

test('the sender loop yields to timers even when every await in it resolves at once (no spin on the main thread)', {
  timeout: 30_000,
}, async () => {
  let timerFired = false;
  let readsBeforeTimer = 0;
  let reads = 0;
  // Without a yield the loop would spin forever and this timer would never run; stop the spin by hand at a bound.
  const LIMIT = 200_000;
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const spool = stuckLog(() => {
    reads += 1;
    if (!timerFired) readsBeforeTimer = reads;
    if (reads === LIMIT) {
      (spool as unknown as { pending: boolean }).pending = false;
      stop?.();
    }
  });
  setTimeout(() => {
    timerFired = true;
  }, 0);
  const sink = new KafkaEventSink(
    config,
    instantProducer,
    spool,
    createEventMetrics(new Registry()),
    pino({ level: 'silent' }),
  );
  sink.start();
  await stopped;
  await sink.close(1000);
  assert.ok(
    timerFired && readsBeforeTimer < 1000,
    `a 0 ms timer ran after ${readsBeforeTimer} of ${reads} loop turns (fired: ${timerFired})`,
  );
});

test('a producer that fails at once (connect answering, every send refused) leaves timers running', {
  timeout: 30_000,
}, async () => {
  let sends = 0;
  const failing: EventProducer = {
    connect: async () => undefined,
    send: async () => {
      sends += 1;
      throw new Error('refused at once');
    },
    close: async () => undefined,
  };
  let appended = 0;
  const spool = stuckLog(() => undefined);
  Object.assign(spool, {
    read: async () => ({ records: [Buffer.from('x')], next: 1 }),
    append: () => {
      appended += 1;
      return true;
    },
  });
  const sink = new KafkaEventSink(
    config,
    failing,
    spool,
    createEventMetrics(new Registry()),
    pino({ level: 'silent' }),
  );
  sink.start();
  const started = performance.now();
  // Ten 10 ms timers in a row: each runs only if the loop leaves the event loop free.
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const elapsedMs = performance.now() - started;
  await sink.close(1000);
  assert.equal(sink.state, 'down');
  assert.ok(elapsedMs < 5000, `timers ran (${elapsedMs.toFixed(0)} ms for ten 10 ms timers; ${sends} sends)`);
  assert.ok(sends <= 3, `the sink backs off between failed sends (${sends} in ${elapsedMs.toFixed(0)} ms)`);
  assert.equal(appended, 0);
});
