import { join } from 'node:path';
import { SegmentReader } from '../../gateway/events/segment-log/segment-reader.ts';
import { decode } from '../../shared/access-event-codec.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { eventually } from '../helpers/gateway.ts';

/** Every access event in a test gateway's embedded log (`<gw.dir>/events`). */
export async function readEvents(gwDir: string): Promise<AccessEvent[]> {
  const reader = await SegmentReader.open(join(gwDir, 'events', 'log'));
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

/** Waits until at least `n` events are in the log. */
export async function eventsAtLeast(gwDir: string, n: number): Promise<AccessEvent[]> {
  const events = await eventually(async () => { const e = await readEvents(gwDir); return e.length >= n ? e : undefined; }, 5000);
  if (!events) throw new Error(`fewer than ${n} access events were written`);
  return events;
}

/** The value of one sample in the admin /metrics text (0 when absent). `labels` must match exactly as rendered, e.g. `code="GW_ERR_IP_DENIED"`. */
export async function metric(adminUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const want = labels ? `${name}{${labels}}` : name;
  for (const line of text.split('\n')) {
    if (line.startsWith(want + ' ')) return Number(line.slice(want.length + 1));
  }
  return 0;
}
