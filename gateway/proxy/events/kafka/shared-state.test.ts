import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { BATCH, DATA, SharedState } from './shared-state.ts';

const settledWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

test('a sender waiting for data is woken by the next write; one waiting for a batch, only by a full one', async () => {
  const state = new SharedState();
  const forData = state.sleep(Infinity, DATA, () => false);
  state.publishWritten(100, 0, 1, 1000);
  assert.equal(await settledWithin(forData, 1000), true, 'a write wakes a sender waiting for data');

  const forBatch = state.sleep(Infinity, BATCH, () => false);
  state.publishWritten(200, 0, 2, 3);
  assert.equal(await settledWithin(forBatch, 100), false, 'two records are not a batch of three');
  state.publishWritten(300, 0, 3, 3);
  assert.equal(await settledWithin(forBatch, 1000), true, 'the third record fills the batch');

  const timed = state.sleep(20, DATA, () => false);
  assert.equal(await settledWithin(timed, 1000), true, 'a sleep ends after its time without a write');
  assert.equal(
    await settledWithin(
      state.sleep(Infinity, DATA, () => true),
      100,
    ),
    true,
    'ready already: no sleep',
  );
});

test("another thread never reads half of the writer's update", { timeout: 30_000 }, async () => {
  const state = new SharedState();
  const reader = new Worker(new URL('./shared-state-reader.fixture.ts', import.meta.url), { workerData: state.buffer });
  const torn = new Promise<number>((resolve) => reader.once('message', resolve));
  let done = false;
  void torn.then(() => {
    done = true;
  });
  state.publishWritten(1000, 0, 100, 1);
  for (let i = 1; !done; i++) {
    for (let k = 0; k < 1000; k++) {
      const records = i * 1000 + k;
      state.publishWritten(records * 10, records * 10 - 1000, records, 1);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(await torn, 0, 'every read saw one whole update');
  await reader.terminate();
});

test("a replacement sender's start keeps the unsent count of the thread before it until its own count is in", () => {
  const state = new SharedState();
  state.publishBacklog(0, 0);
  state.publishWritten(1000, 0, 2000, 1000);
  state.publishDelivered(500, 1000);
  assert.equal(state.unsentWritten(2000), 1000, 'the first thread sent half');

  state.publishStart(400);
  assert.equal(state.readPosition, 400, 'the new thread resumes at the checkpoint');
  assert.equal(state.unsentWritten(2000), 1000, 'while it counts, the old count stands (never 0)');
  state.publishBacklog(1100, 2000);
  assert.equal(state.unsentWritten(2000), 1100, 'its own count, from the checkpoint');
  assert.equal(state.unsentWritten(2050), 1150, 'plus what is written after');
});
