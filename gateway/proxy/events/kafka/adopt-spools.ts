/**
 * The spools of worker directories no process of this run writes (events/index.ts orphanedDirs: after `workers`
 * was lowered, or a switch between one process and several) still hold the events their sender had not shipped
 * when that gateway stopped. Their sender never starts again, so the first worker (or the one process) moves them
 * into its own spool, whose sender ships them: a batch at a time, each committed in the old spool once the new one
 * has it, the old spool's segments deleted as they are. A kill midway copies a batch twice, under the same event
 * ids, which collectors count once (at least once, as the spool's own delivery is).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../log.ts';
import { SegmentReader } from '../../../../shared/segment-log/segment-reader.ts';
import type { EventSink } from '../sink.ts';

const BATCH_RECORDS = 4096;

/** Moves what the spools under `dirs` hold into `sink`; resolves with how many events moved. */
export async function adoptSpools(dirs: string[], sink: EventSink, log: Logger): Promise<number> {
  let moved = 0;
  for (const dir of dirs) {
    const spool = join(dir, 'spool');
    if (!existsSync(spool)) continue;
    const reader = await SegmentReader.open(spool);
    let from = reader.committed;
    let fromThis = 0;
    try {
      for (;;) {
        const { records, next } = await reader.read(from, BATCH_RECORDS);
        if (records.length === 0) break;
        // Each record is copied into the new spool's batch as it is appended; commit once that batch is written.
        await new Promise<void>((resolve) => {
          let left = records.length;
          for (const record of records) sink.append(record.payload, () => --left === 0 && resolve());
        });
        await reader.commit(next);
        from = next;
        fromThis += records.length;
      }
    } finally {
      await reader.close();
    }
    if (fromThis > 0)
      log.warn(
        { from: spool, events: fromThis },
        'unsent events moved from the spool of a worker this run does not have',
      );
    moved += fromThis;
  }
  return moved;
}
