// Scratch directories and numbered records for the segment log's tests.
import type { TestContext } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogRecord, SegmentReader } from './segment-reader.ts';

export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-segment-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A record that says which one it is, with a length that varies by index. */
export function recordFor(index: number): Buffer {
  const record = Buffer.alloc(20 + (index % 7) * 41, index % 251);
  record.writeUInt32LE(index, 0);
  return record;
}

export async function readAll(
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
