import assert from 'node:assert/strict';
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

/**
 * What a long request or connection moved after its last interim event is in one more interim event placed at its
 * end (so it counts in the hour it flowed), and its final event carries no bytes or messages. `interim`: its interim
 * events, oldest first.
 */
export function assertTailAtEnd(final: AccessEvent, interim: AccessEvent[]): void {
  const last = interim.at(-1);
  const endMs = final.startMs + final.totalUs / 1000;
  assert.ok(
    last && Math.abs(last.startMs - endMs) <= 2,
    `the last interim event at ${last?.startMs}, the end ${endMs}`,
  );
  assert.ok(last.bytesIn + last.bytesOut > 0, 'it carries what came last');
  assert.deepEqual([final.bytesIn, final.bytesOut, final.messagesIn, final.messagesOut], [0, 0, 0, 0]);
}
