// The sender loop runs on a thread of its own: whatever its producer and log do, it must
// let that thread's event loop run (timers, the close message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { KafkaSinkConfig } from './config.ts';
import type { EventProducer } from './producer.ts';
import { KafkaSender, type SenderLog } from './sender.ts';
import { SharedState } from './shared-state.ts';

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
function stuckLog(onRead: () => void): SenderLog & { pending: boolean } {
  const spool = {
    pending: true,
    unsentEvents: 1,
    countUnsent: async () => undefined,
    read: async (): Promise<{ records: Buffer[]; next: number }> => {
      onRead();
      return { records: [], next: 0 };
    },
    delivered: () => undefined,
    close: async () => {
      spool.pending = false;
    },
  };
  return spool;
}

const sender = (producer: EventProducer, log: SenderLog) =>
  new KafkaSender(config, producer, log, new SharedState(), pino({ level: 'silent' }));

const instantProducer: EventProducer = {
  connect: async () => undefined,
  send: async () => undefined,
  close: async () => undefined,
};

test('the sender loop yields to timers even when every await in it resolves at once (no spin on its thread)', {
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
      spool.pending = false;
      stop?.();
    }
  });
  setTimeout(() => {
    timerFired = true;
  }, 0);
  const loop = sender(instantProducer, spool);
  loop.start();
  await stopped;
  await loop.close(500, 1000);
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
  let delivered = 0;
  const spool = stuckLog(() => undefined);
  Object.assign(spool, {
    read: async () => ({ records: [Buffer.from('x')], next: 1 }),
    delivered: () => {
      delivered += 1;
    },
  });
  const loop = sender(failing, spool);
  loop.start();
  const started = performance.now();
  // Ten 10 ms timers in a row: each runs only if the loop leaves the event loop free.
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const elapsedMs = performance.now() - started;
  await loop.close(500, 1000);
  assert.equal(loop.state, 'down');
  assert.ok(elapsedMs < 5000, `timers ran (${elapsedMs.toFixed(0)} ms for ten 10 ms timers; ${sends} sends)`);
  assert.ok(sends <= 3, `the sender backs off between failed sends (${sends} in ${elapsedMs.toFixed(0)} ms)`);
  assert.equal(delivered, 0, 'nothing refused is taken for delivered');
});
