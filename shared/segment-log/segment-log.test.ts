import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SegmentLog, type DropReason } from './segment-log.ts';
import { SegmentReader, type LogRecord } from './segment-reader.ts';
import { listSegments, segmentPath } from './segment-files.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-segment-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A record that says which one it is, with a length that varies by index. */
function recordFor(index: number): Buffer {
  const record = Buffer.alloc(20 + (index % 7) * 41, index % 251);
  record.writeUInt32LE(index, 0);
  return record;
}

async function readAll(
  reader: SegmentReader,
  from: number,
  batch = 37,
): Promise<{ records: LogRecord[]; next: number }> {
  const records: LogRecord[] = [];
  let next = from;
  for (;;) {
    const result = await reader.read(next, batch);
    records.push(...result.records.map((r) => ({ position: r.position, payload: Buffer.from(r.payload) })));
    next = result.next;
    if (result.records.length < batch) return { records, next };
  }
}

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

test('drops the newest records past the size bound and reports every drop through onDrop', async (t) => {
  const dir = await tempDir(t);
  const reported = new Map<DropReason, number>();
  const log = await SegmentLog.open(dir, {
    segmentBytes: 2048,
    maxTotalBytes: 10_000,
    onDrop: (count, reason) => reported.set(reason, (reported.get(reason) ?? 0) + count),
  });
  const record = Buffer.alloc(200, 1);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    const kept = log.append(Buffer.concat([Buffer.from([i]), record]));
    if (kept) accepted += 1;
    else refused += 1;
    assert.equal(kept, refused === 0, 'once full, every later record is refused: drop-newest');
  }
  assert.equal(accepted, Math.floor(10_000 / 209));
  assert.ok(log.retainedBytes <= 10_000);
  await log.close();
  assert.deepEqual([...reported], [['full', refused]]);
  assert.equal(log.stats.dropped, refused);

  const reader = await SegmentReader.open(dir);
  const { records } = await readAll(reader, 0);
  await reader.close();
  assert.deepEqual(
    records.map((r) => r.payload[0]),
    Array.from({ length: accepted }, (_, i) => i),
    'the oldest records are the ones kept',
  );
});

test('retention deletes consumed segments, which makes room under the bound again', async (t) => {
  const dir = await tempDir(t);
  const log = await SegmentLog.open(dir, { segmentBytes: 2048, maxTotalBytes: 10_000 });
  const reader = await SegmentReader.open(dir, { log });
  const record = Buffer.alloc(200, 2);
  while (log.append(record));
  await log.flush();
  assert.equal(log.append(record), false, 'full');
  const segmentsBefore = await listSegments(dir);

  const { records, next } = await readAll(reader, reader.committed);
  await reader.commit(next);
  const segmentsAfter = await listSegments(dir);
  assert.deepEqual(segmentsAfter, segmentsBefore.slice(-1), 'every segment wholly before the checkpoint is gone');
  assert.equal(reader.stats.deletedSegments, segmentsBefore.length - 1);
  assert.equal(log.append(record), true, 'the freed space is usable at once');
  await log.close();
  await reader.close();
  assert.equal(records.length, log.stats.written - 1);
});

test('counts appends after close, and empty or oversized records, as drops', async (t) => {
  const dir = await tempDir(t);
  const reported: [number, DropReason][] = [];
  const log = await SegmentLog.open(dir, {
    maxRecordBytes: 1000,
    onDrop: (count, reason) => reported.push([count, reason]),
  });
  assert.equal(log.append(Buffer.alloc(0)), false);
  assert.equal(log.append(Buffer.alloc(1001)), false);
  await log.close();
  assert.equal(log.append(Buffer.alloc(10)), false);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(reported, [
    [2, 'invalid_size'],
    [1, 'closed'],
  ]);
});

test(
  'drops as backlog when the unwritten batch would pass ' + 'maxPendingBytes, and takes records again once written',
  async (t) => {
    const dir = await tempDir(t);
    const log = await SegmentLog.open(dir, { maxPendingBytes: 1000, flushIntervalMs: 60_000 });
    const record = Buffer.alloc(200, 4);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => log.append(record)),
      [true, true, true, true, false],
      '4 frames of 208 bytes fit in 1000',
    );
    await log.flush();
    assert.equal(log.append(record), true);
    await log.close();
    assert.equal(log.stats.dropped, 1);
  },
);

test('fsyncs written data within fsyncEveryMs, or with every write when it is 0', async (t) => {
  const dir = await tempDir(t);
  const lazy = await SegmentLog.open(join(dir, 'lazy'), { fsyncEveryMs: 50 });
  lazy.append(Buffer.from('one'));
  await lazy.flush();
  assert.equal(lazy.writtenPosition, 11);
  assert.equal(lazy.durablePosition, 0, 'written, not yet fsynced');
  const deadline = Date.now() + 2000;
  while (lazy.durablePosition < 11 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(lazy.durablePosition, 11, 'fsynced by the timer, without a flush or close');
  await lazy.close();

  const eager = await SegmentLog.open(join(dir, 'eager'), { fsyncEveryMs: 0 });
  eager.append(Buffer.from('one'));
  await eager.flush();
  assert.equal(eager.durablePosition, 11, 'the write and its fsync are one step');
  await eager.close();
});

test('a write the disk refuses drops every unwritten record as io_error and keeps positions contiguous', async (t) => {
  const dir = await tempDir(t);
  const reported: [number, DropReason][] = [];
  const warnings: object[] = [];
  const log = await SegmentLog.open(dir, {
    segmentBytes: 1000,
    onDrop: (count, reason) => reported.push([count, reason]),
    logger: { warn: (details) => warnings.push(details) },
  });
  // Ten 100-byte frames per segment; the second segment is /dev/full, where every write fails with ENOSPC.
  await symlink('/dev/full', segmentPath(dir, 1000));
  for (let i = 0; i < 15; i++) assert.equal(log.append(Buffer.alloc(92, i)), true, 'accepted into the batch');
  await log.flush();
  assert.equal(log.writtenPosition, 1000);
  assert.equal(log.endPosition, 1000, 'the next append takes the place of the first lost one');
  await log.close();
  assert.deepEqual(reported, [[5, 'io_error']]);
  assert.equal(log.stats.written, 10);
  assert.ok(warnings.length > 0, 'the failure is logged');

  const reader = await SegmentReader.open(dir);
  const { records } = await readAll(reader, 0);
  await reader.close();
  assert.deepEqual(
    records.map((r) => r.payload[0]),
    Array.from({ length: 10 }, (_, i) => i),
  );
});

test(
  'group commit: onWritten runs once the record is in the ' +
    'file, and appends made during a write share the next one',
  async (t) => {
    const dir = await tempDir(t);
    // A flush timer of a minute: only onWritten can make these writes happen.
    const log = await SegmentLog.open(dir, { flushIntervalMs: 60_000 });
    const reader = await SegmentReader.open(dir, { log });
    const doneAt: number[] = [];
    const readable: number[] = [];
    for (let i = 0; i < 3; i++) {
      log.append(recordFor(i), () => {
        doneAt.push(i);
        readable.push(log.writtenPosition);
      });
    }
    assert.equal(doneAt.length, 0, 'no callback before the write');
    const firstEnd = log.endPosition;
    await nextTurn();
    // The first write is under way (or done); these go out in the next one.
    for (let i = 3; i < 100; i++) log.append(recordFor(i), () => doneAt.push(i));
    await log.flush();
    assert.deepEqual(
      doneAt,
      Array.from({ length: 100 }, (_, i) => i),
      'every callback, in append order',
    );
    assert.ok(
      readable.every((p) => p >= firstEnd),
      'the first three ran after their bytes were written',
    );
    assert.ok(log.stats.written === 100);
    const { records } = await readAll(reader, 0);
    assert.equal(records.length, 100, 'all in the file');
    await reader.close();
    await log.close();
  },
);

test(
  'group commit: a dropped record runs its callback ' + 'at once, and a refused write releases its waiters',
  async (t) => {
    const dir = await tempDir(t);
    const log = await SegmentLog.open(dir, { segmentBytes: 1000, maxTotalBytes: 4000, flushIntervalMs: 60_000 });
    let ran = 0;
    assert.equal(
      log.append(Buffer.alloc(0), () => ran++),
      false,
    );
    assert.equal(ran, 1, 'invalid record: at once');
    // The second segment is /dev/full: the records bound for it are refused by the disk.
    await symlink('/dev/full', segmentPath(dir, 1000));
    for (let i = 0; i < 15; i++) log.append(Buffer.alloc(92, i), () => ran++);
    await log.flush();
    assert.equal(ran, 16, 'written and refused records alike released their waiters');
    await log.close();
    assert.equal(
      log.append(Buffer.alloc(10), () => ran++),
      false,
    );
    assert.equal(ran, 17, 'closed: at once');
  },
);

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
