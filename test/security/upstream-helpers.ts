import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { decode } from '../../shared/access-event-codec.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { SegmentReader } from '../../gateway/events/segment-log/segment-reader.ts';
import { eventually, type TestGateway } from '../helpers/gateway.ts';

/** The value of one Prometheus series (labels given in exposition order), 0 when absent. */
export async function metric(gw: TestGateway, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const series = labels ? `${name}{${labels}}` : name;
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** Every access event in the embedded log of an in-process test gateway. */
export async function readEvents(gw: TestGateway): Promise<AccessEvent[]> {
  const reader = await SegmentReader.open(join(gw.dir, 'events', 'log'));
  try {
    const out: AccessEvent[] = [];
    // From the start, not the checkpoint: the embedded collector may already have consumed (and committed) them.
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

/** Waits until the embedded log holds events matching `pick`, at least `n` of them. */
export async function eventsWhere(gw: TestGateway, pick: (e: AccessEvent) => boolean, n = 1): Promise<AccessEvent[]> {
  return (await eventually(async () => {
    const e = (await readEvents(gw)).filter(pick);
    return e.length >= n ? e : undefined;
  }, 3000)) ?? [];
}

/** Applies the gateway's current config file with `edit` applied, as an admin change would; resolves once it serves it. */
export async function reload(gw: TestGateway, edit: (config: any) => void): Promise<void> {
  const raw = parse(readFileSync(gw.file, 'utf8'));
  edit(raw);
  const r = await gw.manager.apply(raw, 'admin', 'test reload');
  if (!r.ok) throw new Error(`reload rejected: ${JSON.stringify(r.errors)}`);
}
