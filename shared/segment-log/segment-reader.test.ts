import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentLog } from './segment-log.ts';
import { SegmentReader } from './segment-reader.ts';
import { listSegments, segmentPath } from './segment-files.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-segment-reader-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function recordFor(index: number): Buffer {
  const record = Buffer.alloc(60, index % 251);
  record.writeUInt32LE(index, 0);
  return record;
}

async function writeRecords(dir: string, from: number, count: number, segmentBytes = 64 * 1024 * 1024): Promise<void> {
  const log = await SegmentLog.open(dir, { segmentBytes });
  for (let i = from; i < from + count; i++) log.append(recordFor(i));
  await log.close();
}

/** Indexes of every record readable from `from`, in order. */
async function readIndexes(reader: SegmentReader, from: number): Promise<{ indexes: number[]; next: number }> {
  const indexes: number[] = [];
  let next = from;
  for (;;) {
    const result = await reader.read(next, 16);
    for (const record of result.records) {
      assert.deepEqual(record.payload, recordFor(record.payload.readUInt32LE(0)), 'never a damaged payload');
      indexes.push(record.payload.readUInt32LE(0));
    }
    next = result.next;
    if (result.records.length === 0) return { indexes, next };
  }
}

async function overwriteByte(path: string, offset: number, transform: (byte: number) => number): Promise<void> {
  const handle = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, offset);
  byte[0] = transform(byte[0]);
  await handle.write(byte, 0, 1, offset);
  await handle.close();
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const FRAME_BYTES = 8 + 60;

test('a restarted reader resumes from its committed checkpoint', async (t) => {
  const dir = await tempDir(t);
  await writeRecords(dir, 0, 100);
  const first = await SegmentReader.open(dir);
  assert.equal(first.committed, 0, 'starts at the oldest segment when nothing was committed');
  const batch = await first.read(first.committed, 40);
  await first.commit(batch.next);
  await first.close();

  await writeRecords(dir, 100, 20);
  const second = await SegmentReader.open(dir);
  assert.equal(second.committed, 40 * FRAME_BYTES);
  const { indexes } = await readIndexes(second, second.committed);
  await second.close();
  assert.deepEqual(indexes, range(40, 120), 'the rest of the first run and what a restarted writer added');
});

test('refuses a commit that goes backwards', async (t) => {
  const dir = await tempDir(t);
  await writeRecords(dir, 0, 10);
  const reader = await SegmentReader.open(dir);
  await reader.commit(5 * FRAME_BYTES);
  await assert.rejects(reader.commit(2 * FRAME_BYTES), RangeError);
  assert.equal(reader.committed, 5 * FRAME_BYTES);
  await reader.close();
});

test('a corrupted payload byte in the middle is detected, counted and skipped, and the rest is read', async (t) => {
  const dir = await tempDir(t);
  await writeRecords(dir, 0, 20);
  await overwriteByte(segmentPath(dir, 0), 7 * FRAME_BYTES + 8 + 30, (byte) => byte ^ 0x10);
  // The writer's recovery keeps it: the next good frame proves the damaged one's length.
  const log = await SegmentLog.open(dir);
  await log.close();
  assert.equal(log.stats.recoveredTruncatedBytes, 0);

  const reader = await SegmentReader.open(dir, { logger: { warn: () => {} } });
  const { indexes } = await readIndexes(reader, 0);
  await reader.close();
  assert.deepEqual(
    indexes,
    range(0, 20).filter((i) => i !== 7),
  );
  assert.equal(reader.stats.skippedRecords, 1);
  assert.equal(reader.stats.quarantinedBytes, 0);
});

test('a corrupted length quarantines the rest of its segment and reading goes on at the next one', async (t) => {
  const dir = await tempDir(t);
  const perSegment = 10;
  await writeRecords(dir, 0, 3 * perSegment, perSegment * FRAME_BYTES);
  assert.equal((await listSegments(dir)).length, 3);
  // A length one byte longer: the CRC fails and no good frame follows, so its extent is unknown.
  await overwriteByte(segmentPath(dir, 0), 4 * FRAME_BYTES, (byte) => byte + 1);

  const reader = await SegmentReader.open(dir, { logger: { warn: () => {} } });
  const { indexes } = await readIndexes(reader, 0);
  await reader.close();
  assert.deepEqual(indexes, [...range(0, 4), ...range(perSegment, 3 * perSegment)]);
  assert.equal(reader.stats.quarantinedBytes, 6 * FRAME_BYTES);
  assert.equal(reader.stats.skippedRecords, 0);
});

test('a length above the record limit is damage, not a reason to read a huge frame', async (t) => {
  const dir = await tempDir(t);
  await writeRecords(dir, 0, 10, 5 * FRAME_BYTES);
  await overwriteByte(segmentPath(dir, 0), 2 * FRAME_BYTES + 3, () => 0x7f);
  const reader = await SegmentReader.open(dir, { logger: { warn: () => {} } });
  const { indexes } = await readIndexes(reader, 0);
  await reader.close();
  assert.deepEqual(indexes, [0, 1, 5, 6, 7, 8, 9]);
  assert.equal(reader.stats.quarantinedBytes, 3 * FRAME_BYTES);
});

test('retention never deletes the last segment, nor one the checkpoint is inside', async (t) => {
  const dir = await tempDir(t);
  await writeRecords(dir, 0, 30, 10 * FRAME_BYTES);
  const bases = await listSegments(dir);
  const reader = await SegmentReader.open(dir);
  await reader.commit(bases[1] + FRAME_BYTES);
  assert.deepEqual(await listSegments(dir), bases.slice(1));
  await reader.commit(bases[2] + 10 * FRAME_BYTES);
  assert.deepEqual(await listSegments(dir), bases.slice(2));
  await reader.close();

  const restarted = await SegmentReader.open(dir);
  assert.deepEqual((await readIndexes(restarted, restarted.committed)).indexes, [], 'everything was consumed');
  assert.deepEqual(
    (await readIndexes(restarted, 0)).indexes,
    range(20, 30),
    'a position before the oldest segment starts at it',
  );
  await restarted.close();
});

test('appends after a restart never reuse a position at or before the checkpoint', async (t) => {
  const dir = await tempDir(t);
  await writeRecords(dir, 0, 10);
  const reader = await SegmentReader.open(dir);
  // A checkpoint ahead of the data: the writer lost unsynced bytes the reader had already seen (power loss).
  await reader.commit(50 * FRAME_BYTES);
  await writeRecords(dir, 10, 5);
  const { indexes } = await readIndexes(reader, reader.committed);
  await reader.close();
  assert.deepEqual(indexes, range(10, 15));
});

test('visit hands over the records read would return, in order, across segments and a corrupted one', async (t) => {
  const dir = await tempDir(t);
  await writeRecords(dir, 0, 300, 64 * FRAME_BYTES);
  const [, second] = await listSegments(dir);
  await overwriteByte(segmentPath(dir, second), 8 + 3 * FRAME_BYTES + 20, (b) => b ^ 0xff);
  const reading = await SegmentReader.open(dir);
  const visiting = await SegmentReader.open(dir);
  let readNext = 0;
  let visitNext = 0;
  for (;;) {
    const { records, next } = await reading.read(readNext, 50);
    const seen: Array<[number, number]> = [];
    const visited = await visiting.visit(visitNext, 50, (payload, position) =>
      seen.push([position, payload.readUInt32LE(0)]),
    );
    assert.deepEqual(
      seen,
      records.map((r) => [r.position, r.payload.readUInt32LE(0)]),
    );
    assert.deepEqual([visited.count, visited.next], [records.length, next]);
    readNext = next;
    visitNext = visited.next;
    if (records.length === 0) break;
  }
  assert.equal(visiting.stats.skippedRecords, 1, 'the corrupted record is skipped and counted by visit too');
});
