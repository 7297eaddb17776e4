// The segment log's bounds: drops past the size and backlog limits, retention, fsync, a disk that refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SegmentLog, type DropReason } from './segment-log.ts';
import { SegmentReader } from './segment-reader.ts';
import { listSegments, segmentPath } from './segment-files.ts';

import { readAll, recordFor, tempDir } from './segment-log.fixture.ts';

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
