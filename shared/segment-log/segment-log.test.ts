import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, stat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SegmentLog } from './segment-log.ts';
import { SegmentReader } from './segment-reader.ts';
import { listSegments, segmentPath } from './segment-files.ts';

import { readAll, recordFor, tempDir } from './segment-log.fixture.ts';

test('reads back every record in append order across several segment rotations', async (t) => {
  const dir = await tempDir(t);
  const log = await SegmentLog.open(dir, { segmentBytes: 4096 });
  for (let i = 0; i < 500; i++) assert.equal(log.append(recordFor(i)), true);
  await log.close();
  assert.ok((await listSegments(dir)).length > 10, 'several rotations happened');

  const reader = await SegmentReader.open(dir);
  const { records, next } = await readAll(reader, reader.committed);
  await reader.close();
  assert.equal(records.length, 500);
  let expectedPosition = 0;
  records.forEach((record, i) => {
    assert.deepEqual(record.payload, recordFor(i));
    assert.equal(record.position, expectedPosition, 'positions are byte offsets across segments');
    expectedPosition += 8 + record.payload.length;
  });
  assert.equal(next, expectedPosition);
  assert.equal(log.stats.written, 500);
});

test('a reader in the same process sees records once written, never past the written end', async (t) => {
  const dir = await tempDir(t);
  // Batches are written only by flush() here, so what is visible is decided by the test, not a timer.
  const log = await SegmentLog.open(dir, { segmentBytes: 2048, flushIntervalMs: 60_000 });
  const reader = await SegmentReader.open(dir, { log });
  const seen: Buffer[] = [];
  let next = reader.committed;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 25; i++) log.append(recordFor(round * 25 + i));
    const early = await reader.read(next, 1000);
    assert.equal(early.records.length, 0, 'nothing is visible before its batch is written');
    await log.flush();
    const result = await reader.read(next, 1000);
    seen.push(...result.records.map((r) => Buffer.from(r.payload)));
    next = result.next;
  }
  await log.close();
  await reader.close();
  assert.deepEqual(
    seen,
    Array.from({ length: 500 }, (_, i) => recordFor(i)),
  );
});

test('a batch whose flush interval is up is written in that timer, not handed to the thread pool', async (t) => {
  const dir = await tempDir(t);
  const log = await SegmentLog.open(dir, { flushIntervalMs: 20 });
  log.append(recordFor(1));
  log.append(recordFor(2));
  // A timer of the same length set after the appends runs right after the log's, in the same turn: a write handed
  // to the thread pool could not have completed yet.
  const seenInTimer = await new Promise<number>((resolve) => setTimeout(() => resolve(log.writtenPosition), 20));
  assert.equal(seenInTimer, log.endPosition);
  assert.equal(log.stats.written, 2);
  await log.close();
  const reader = await SegmentReader.open(dir);
  const { records } = await readAll(reader, reader.committed);
  await reader.close();
  assert.deepEqual(
    records.map((r) => r.payload),
    [recordFor(1), recordFor(2)],
  );
});

test('a torn last record is cut off on the next open, counted, and never read', async (t) => {
  const dir = await tempDir(t);
  const first = await SegmentLog.open(dir);
  for (let i = 0; i < 5; i++) first.append(recordFor(i));
  await first.close();
  const [base] = await listSegments(dir);
  const torn = Buffer.alloc(38, 7);
  torn.writeUInt32LE(100, 0);
  await appendFile(segmentPath(dir, base), torn);

  const before = await SegmentReader.open(dir);
  const beforeRecovery = await readAll(before, 0);
  await before.close();
  assert.equal(beforeRecovery.records.length, 5, 'the torn frame is not returned');
  assert.deepEqual(
    before.stats,
    { skippedRecords: 0, quarantinedBytes: 0, deletedSegments: 0 },
    'a tail that may still be written is not called damage',
  );

  const warnings: object[] = [];
  const second = await SegmentLog.open(dir, { logger: { warn: (details) => warnings.push(details) } });
  assert.equal(second.stats.recoveredTruncatedBytes, 38);
  assert.equal(warnings.length, 1);
  assert.equal((await stat(segmentPath(dir, base))).size, beforeRecovery.next);
  second.append(recordFor(5));
  await second.close();

  const after = await SegmentReader.open(dir);
  const { records } = await readAll(after, 0);
  await after.close();
  assert.deepEqual(
    records.map((r) => r.payload),
    Array.from({ length: 6 }, (_, i) => recordFor(i)),
  );
});

test('a zero-filled tail, as a power loss can leave, is cut off as well', async (t) => {
  const dir = await tempDir(t);
  const first = await SegmentLog.open(dir);
  for (let i = 0; i < 3; i++) first.append(recordFor(i));
  await first.close();
  await appendFile(segmentPath(dir, 0), Buffer.alloc(4096));
  const second = await SegmentLog.open(dir);
  await second.close();
  assert.equal(second.stats.recoveredTruncatedBytes, 4096);
  const reader = await SegmentReader.open(dir);
  assert.equal((await readAll(reader, 0)).records.length, 3);
  await reader.close();
});

test('rejects a segment size that cannot hold a single record', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(SegmentLog.open(dir, { segmentBytes: 1000, maxRecordBytes: 1000 }), RangeError);
});

test('throughput of 200-byte records (diagnostic, not asserted)', async (t) => {
  const dir = await tempDir(t);
  const log = await SegmentLog.open(dir);
  const record = Buffer.alloc(200, 3);
  const total = 1_000_000;
  let appendNs = 0n;
  const started = process.hrtime.bigint();
  for (let done = 0; done < total; done += 1000) {
    const batchStarted = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) log.append(record);
    appendNs += process.hrtime.bigint() - batchStarted;
    // Yield like a server does between requests; wait only if the disk falls behind.
    if (log.pendingBytes > 4 * 1024 * 1024) await log.flush();
    else await nextTurn();
  }
  await log.close();
  const writeSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  const reader = await SegmentReader.open(dir);
  const readStarted = process.hrtime.bigint();
  let read = 0;
  let next = 0;
  for (;;) {
    const result = await reader.read(next, 5000);
    if (result.records.length === 0) break;
    read += result.records.length;
    next = result.next;
  }
  const readSeconds = Number(process.hrtime.bigint() - readStarted) / 1e9;
  await reader.close();

  assert.equal(log.stats.dropped, 0);
  assert.equal(read, total);
  t.diagnostic(
    `append+write+fsync: ${Math.round(total / writeSeconds).toLocaleString('en')} records/s ` +
      `(${(writeSeconds * 1000).toFixed(0)} ms for ${total})`,
  );
  t.diagnostic(`append() call alone: ${(Number(appendNs) / total).toFixed(0)} ns/record`);
  t.diagnostic(`read: ${Math.round(total / readSeconds).toLocaleString('en')} records/s`);
});
