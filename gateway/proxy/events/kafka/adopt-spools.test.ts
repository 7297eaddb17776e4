import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { SegmentLog } from '../../../../shared/segment-log/segment-log.ts';
import type { EventSink } from '../sink.ts';
import { adoptSpools } from './adopt-spools.ts';

const log = pino({ level: 'silent' });

/** A sink that keeps copies of what it is given and says so a turn later, as a log's group commit does. */
function keepingSink(): EventSink & { kept: string[] } {
  const kept: string[] = [];
  return {
    kept,
    append(record: Buffer, written?: () => void) {
      kept.push(record.toString());
      if (written) setImmediate(written);
    },
    emit: () => assert.fail('not used'),
    unencodable: () => assert.fail('not used'),
    close: async () => {},
  };
}

test("a gone worker's spool moves into the sink in order, in batches, and then holds nothing", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-adopt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = await SegmentLog.open(join(dir, 'w3', 'spool'), { maxTotalBytes: 64 * 1024 * 1024 });
  const count = 5000; // more than one batch
  for (let i = 0; i < count; i++) old.append(Buffer.from(`event ${i}`));
  await old.close();

  const sink = keepingSink();
  const moved = await adoptSpools([join(dir, 'w3'), join(dir, 'w4')], sink, log);
  assert.equal(moved, count);
  assert.deepEqual(
    sink.kept,
    Array.from({ length: count }, (_, i) => `event ${i}`),
  );
  const again = keepingSink();
  assert.equal(await adoptSpools([join(dir, 'w3')], again, log), 0, 'committed: nothing moves twice');
  assert.deepEqual(again.kept, []);
});
