import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crashRecord } from './crash-writer.fixture.ts';
import { SegmentLog } from './segment-log.ts';
import { SegmentReader } from './segment-reader.ts';
import { runUntilWrittenThenKill } from '../../test/helpers/kill-after-written.ts';

const WRITER = fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url));

async function readAllIndexes(dir: string): Promise<{ indexes: number[]; next: number; reader: SegmentReader }> {
  const reader = await SegmentReader.open(dir);
  const indexes: number[] = [];
  let next = reader.committed;
  for (;;) {
    const result = await reader.read(next, 4096);
    for (const record of result.records) {
      const index = record.payload.readUInt32LE(0);
      assert.ok(record.payload.equals(crashRecord(index)), `record ${index} is whole and intact`);
      indexes.push(index);
    }
    next = result.next;
    if (result.records.length === 0) return { indexes, next, reader };
  }
}

test(
  'a writer killed with SIGKILL mid-flush loses at ' + 'most its unwritten tail and never yields a torn record',
  async (t) => {
    for (const [round, delayMs] of [0, 3, 7].entries()) {
      const dir = await mkdtemp(join(tmpdir(), 'tollgate-segment-crash-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const reported = await runUntilWrittenThenKill(WRITER, [dir], 30_000 * (round + 1), delayMs);
      assert.equal(reported.dropped, 0, 'the writer kept up, so every missing record is from the kill');

      const beforeRecovery = await readAllIndexes(dir);
      const found = beforeRecovery.indexes.length;
      assert.deepEqual(
        beforeRecovery.indexes,
        Array.from({ length: found }, (_, i) => i),
        'in order, no gaps, no duplicates',
      );
      assert.ok(found >= reported.written, `every record reported written survives (${found} >= ${reported.written})`);

      const recovered = await SegmentLog.open(dir, { segmentBytes: 256 * 1024 });
      recovered.append(crashRecord(found));
      await recovered.close();
      const after = await beforeRecovery.reader.read(beforeRecovery.next, 10);
      await beforeRecovery.reader.close();
      assert.deepEqual(
        after.records.map((r) => r.payload.readUInt32LE(0)),
        [found],
        'appending resumes right after the last good record',
      );
      t.diagnostic(
        `round ${round}: ${reported.written} reported written, ${found} ` +
          `recovered, ${recovered.stats.recoveredTruncatedBytes} torn bytes cut`,
      );
    }
  },
);
