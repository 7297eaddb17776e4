import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint } from '../../../../shared/segment-log/checkpoint.ts';
import { SegmentLog } from '../../../../shared/segment-log/segment-log.ts';
import { KafkaLogReader } from './log.ts';
import { SharedState } from './shared-state.ts';

/** The writer as the sink opens it, publishing where its written data ends into `state`. */
async function openWriter(dir: string, state: SharedState): Promise<SegmentLog> {
  const log = await SegmentLog.open(dir, {
    onWritten: (position, base, records) => state.publishWritten(position, base, records, 1000),
  });
  state.publishWritten(log.writtenPosition, log.writingBase, 0, 1000);
  return log;
}

test('the sender reads only what the writer published as written, and counts it unsent', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const state = new SharedState();
  const writer = await openWriter(dir, state);
  t.after(() => writer.close());
  const reader = await KafkaLogReader.open(dir, state, () => undefined);
  t.after(() => reader.close());
  await reader.countUnsent(() => false);
  assert.equal(reader.pending, false);
  for (let i = 0; i < 10; i++) writer.append(Buffer.from(`event ${i}`));
  assert.equal(reader.pending, false, 'appended, not yet written: nothing to send');
  await writer.flush();
  assert.equal(reader.pending, true);
  assert.equal(reader.unsentEvents, 10);
  assert.equal(state.unsentWritten(writer.stats.written), 10, 'the writer sees the same count');
  const batch = await reader.read(4, 1024);
  assert.deepEqual(batch.records.map(String), ['event 0', 'event 1', 'event 2', 'event 3']);
  reader.delivered(batch.next, batch.records.length);
  assert.equal(reader.unsentEvents, 6);
  assert.equal(state.readPosition, batch.next, 'the writer sees how far Kafka has acknowledged');
});

test('what a previous run left is checkpointed as soon as Kafka has it, not a second later', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await openWriter(dir, new SharedState());
  for (let i = 0; i < 100; i++) first.append(Buffer.from(`event ${i}`));
  await first.close();
  assert.equal(await readCheckpoint(dir), undefined, 'nothing was delivered: no checkpoint');

  const state = new SharedState();
  const writer = await openWriter(dir, state);
  t.after(() => writer.close());
  const second = await KafkaLogReader.open(dir, state, () => undefined);
  t.after(() => second.close());
  await second.countUnsent(() => false);
  assert.equal(second.unsentEvents, 100);
  const batch = await second.read(1000, 1024 * 1024);
  assert.equal(batch.records.length, 100);
  second.delivered(batch.next, batch.records.length);
  // The regular checkpoint comes once a second; a gateway killed sooner would send these 100 again on its restart.
  let committed: number | undefined;
  for (let i = 0; i < 20 && committed !== batch.next; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    committed = await readCheckpoint(dir);
  }
  assert.equal(committed, batch.next, 'the checkpoint passed the backlog within 200 ms');
});
