// The Kafka sink's reader runs beside its writer on one thread, and the writer's group commit is
// one synchronous write of many frames. While that write runs, the file's size grows page by page,
// so the size an fstat on libuv's pool reads meanwhile can end in the middle of a frame. The reader
// must go by what the writer reports written, never by such a size: taken for the written end, it
// once made the reader quarantine a good frame and skip every record after it (answered requests
// missing from Kafka in the kill-under-load test, about one run in twenty).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFrame, FRAME_HEADER_BYTES } from './frame.ts';
import { segmentPath } from './segment-files.ts';
import { SegmentReader } from './segment-reader.ts';

const RECORD_BYTES = 700;
const RECORDS_PER_WRITE = 2000;
const WRITES = 200;

test('a reader beside its writer reads every record while a write is growing the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-reader-race-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = segmentPath(dir, 0);
  await writeFile(path, '');
  const groupBytes = (FRAME_HEADER_BYTES + RECORD_BYTES) * RECORDS_PER_WRITE;
  const frames = Buffer.alloc(groupBytes * WRITES);
  const payload = Buffer.alloc(RECORD_BYTES);
  for (let i = 0, at = 0; i < RECORDS_PER_WRITE * WRITES; i++) {
    payload.fill(i % 251).writeUInt32LE(i, 0);
    at = writeFrame(frames, at, payload);
  }
  let written = 0;
  const log = { writtenPosition: 0, writingBase: 0, noteOldestSegment: () => undefined };
  const reader = await SegmentReader.open(dir, { log, maxRecordBytes: 64 * 1024 });
  t.after(() => reader.close());
  // As SegmentLog's group commit: a write at the end of a turn of the loop, then the written end moves.
  const fd = openSync(path, 'r+');
  const writes = new Promise<void>((resolve) => {
    const writeGroup = () => {
      writeSync(fd, frames, written, groupBytes, written);
      written += groupBytes;
      log.writtenPosition = written;
      if (written < frames.length) setTimeout(() => setImmediate(writeGroup), 1);
      else resolve();
    };
    setImmediate(writeGroup);
  });
  let position = 0;
  let expected = 0;
  while (position < frames.length) {
    const { records, next } = await reader.read(position, Infinity);
    for (const record of records)
      assert.equal(record.payload.readUInt32LE(0), expected++, 'records in order, none skipped');
    assert.equal(reader.stats.quarantinedBytes, 0, `nothing written was taken for damage (at record ${expected})`);
    position = next;
  }
  await writes;
  closeSync(fd);
  assert.equal(expected, RECORDS_PER_WRITE * WRITES, 'every record read');
});

test('beside a writer that has moved to a newer segment, an older one is read to its size', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-reader-race-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const frames = Buffer.alloc((FRAME_HEADER_BYTES + RECORD_BYTES) * 10);
  for (let i = 0, at = 0; i < 10; i++) at = writeFrame(frames, at, Buffer.alloc(RECORD_BYTES, i));
  await writeFile(segmentPath(dir, 0), frames);
  // The listing the reader took shows only this segment, but the writer has already written on into its successor.
  const log = { writtenPosition: frames.length + 4096, writingBase: frames.length, noteOldestSegment: () => undefined };
  const reader = await SegmentReader.open(dir, { log });
  t.after(() => reader.close());
  const { records, next } = await reader.read(0, Infinity);
  assert.deepEqual(
    records.map((r) => r.payload[0]),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(next, frames.length);
});
