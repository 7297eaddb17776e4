import { setImmediate as nextTurn } from 'node:timers/promises';
import { SegmentLog } from './segment-log.ts';

/** Record `index` of the crash test: its number, then filler derived from it, 200 bytes in all. */
export function crashRecord(index: number): Buffer {
  const record = Buffer.alloc(200, index % 251);
  record.writeUInt32LE(index, 0);
  return record;
}

/**
 * Run as a child by crash.test.ts: appends numbered records as fast as the log
 * takes them and prints how many are written, until it is killed.
 */
async function appendUntilKilled(dir: string): Promise<void> {
  const log = await SegmentLog.open(dir, { segmentBytes: 256 * 1024 });
  setInterval(() => process.stdout.write(`written ${log.stats.written} dropped ${log.stats.dropped}\n`), 2);
  for (let index = 0; ; ) {
    for (let i = 0; i < 500; i++) log.append(crashRecord(index++));
    if (log.pendingBytes > 1024 * 1024) await log.flush();
    else await nextTurn();
  }
}

if (import.meta.main) await appendUntilKilled(process.argv[2]);
