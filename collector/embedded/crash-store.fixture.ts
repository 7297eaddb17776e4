import { emptyCounters, type TrafficDelta } from '../aggregate/traffic.ts';
import { EmbeddedStore } from './store.ts';

/** The deltas of a crash-test batch of `records` records: each record is one request, spread over two keys. */
export function crashBatchDeltas(from: number, records: number): TrafficDelta[] {
  const hourMs = Date.UTC(2025, 0, 1) + (from % 7) * 3_600_000;
  const deltas: TrafficDelta[] = [];
  const half = Math.floor(records / 2);
  for (const [appId, n] of [
    ['a', half],
    ['b', records - half],
  ] as const) {
    for (const granularity of ['hour', 'day'] as const) {
      const counters = emptyCounters();
      counters.requests = n;
      counters.latency[3] = n;
      deltas.push({
        granularity,
        bucketStartMs: granularity === 'hour' ? hourMs : Date.UTC(2025, 0, 1),
        appId,
        service: 's',
        protocol: 'http/1.1',
        grpcSlot: 0,
        counters,
      });
    }
  }
  return deltas;
}

/**
 * Run as a child by store.test.ts: resumes from the stored position and applies
 * batches of 1–40 records as fast as the store takes them, printing the
 * position after each, until it is killed.
 */
function applyUntilKilled(path: string): void {
  const store = EmbeddedStore.open(path);
  let from = store.positionOf('crash') ?? 0;
  for (let i = 0; ; i++) {
    const records = 1 + ((from * 31 + i) % 40);
    store.applyBatch({
      source: 'crash',
      from,
      next: from + records,
      deltas: crashBatchDeltas(from, records),
      deadLetters: [],
    });
    from += records;
    if (i % 20 === 0) process.stdout.write(`at ${from}\n`);
  }
}

if (import.meta.main) applyUntilKilled(process.argv[2]);
