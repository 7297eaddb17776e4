import { join } from 'node:path';
import { SegmentReader } from '../../shared/segment-log/segment-reader.ts';
import { decode } from '../../shared/access-event-codec.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { eventually } from './gateway.ts';

/** Every access event in a test gateway's embedded segment log (`<gw.dir>/events/log`), oldest first. */
export async function readEvents(gw: { dir: string }): Promise<AccessEvent[]> {
  const reader = await SegmentReader.open(join(gw.dir, 'events', 'log'));
  try {
    const out: AccessEvent[] = [];
    // From the oldest record, not the checkpoint: the embedded collector may already have consumed (committed) them.
    let from = 0;
    for (;;) {
      const r = await reader.read(from, 1000);
      for (const rec of r.records) out.push(decode(rec.payload));
      if (r.records.length === 0) return out;
      from = r.next;
    }
  } finally {
    await reader.close();
  }
}

/** Any event at all, for `eventsWhere(gw, anyEvent, n)`. */
export const anyEvent = (_e: AccessEvent): boolean => true;

/**
 * Waits (up to `timeoutMs`) until the log holds at least `n` events matching
 * `pick`, and returns those, oldest first; [] when fewer arrived in time, so
 * the assertion that follows is what fails.
 */
export async function eventsWhere(
  gw: { dir: string },
  pick: (e: AccessEvent) => boolean,
  n = 1,
  timeoutMs = 5000,
): Promise<AccessEvent[]> {
  return (
    (await eventually(async () => {
      const e = (await readEvents(gw)).filter(pick);
      return e.length >= n ? e : undefined;
    }, timeoutMs)) ?? []
  );
}
