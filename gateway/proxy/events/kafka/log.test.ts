import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint } from '../../../../shared/segment-log/checkpoint.ts';
import { KafkaLog } from './log.ts';

const options = { maxBytes: 16 * 1024 * 1024, onDrop: () => undefined };

test('what a previous run left is checkpointed as soon as Kafka has it, not a second later', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await KafkaLog.open(dir, options);
  for (let i = 0; i < 100; i++) first.append(Buffer.from(`event ${i}`));
  await first.close();
  assert.equal(await readCheckpoint(dir), undefined, 'nothing was delivered: no checkpoint');

  const second = await KafkaLog.open(dir, options);
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
