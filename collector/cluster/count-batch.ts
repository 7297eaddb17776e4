/**
 * Counts one batch of records into the per-source running totals
 * (source-totals.ts) and collects what its writes need: the raw-event body,
 * the new cumulative hour/day rows, dead letters, and per partition the live
 * events and the newest record (whose commit commits the partition).
 */
import type { Message } from '@platformatic/kafka';
import { EventDecodeError } from '../../shared/access-event-codec.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { EventView } from '../aggregate/event-view.ts';
import { readEvent } from '../aggregate/event-view.ts';
import type { LiveEvent } from './live-counters.ts';
import { tsvString } from './raw-rows.ts';
import type { RawTsvBody } from './raw-tsv.ts';
import type { AggregateRow, SourceTotals } from './source-totals.ts';

export type Record_ = Message<Buffer, Buffer, Buffer, Buffer>;

/** One partition's share of a batch. */
export interface PartitionBatch {
  source: string;
  /** The source as TSV-escaped bytes, for every raw row of the partition. */
  sourceTsv: Buffer;
  totals: SourceTotals;
  /** The totals' dirtyRows() snapshot this batch writes. */
  snapshot: number;
  /** Its newest record: committing it commits the partition up to there. */
  last: Record_;
  live: LiveEvent[];
}

/** A batch counted and waiting for (or in) its writes. */
export interface CountedBatch {
  records: number;
  parts: PartitionBatch[];
  deadLetters: DeadLetter[];
  rawBody: RawTsvBody;
  hourly: AggregateRow[];
  daily: AggregateRow[];
  nowMs: number;
  startedMs: number;
  countMs: number;
}

/** The record outcomes countBatch adds to (CollectorStats' counting fields). */
export interface CountStats {
  counted: number;
  redelivered: number;
  duplicate: number;
  deadLetter: number;
  tooLate: number;
}

export interface CountContext {
  stats: CountStats;
  /** Reused by every batch (batches are counted one at a time): no per-event objects for decoding. */
  view: EventView;
  /** Emptied by the caller; no write may still be reading it. */
  rawBody: RawTsvBody;
  /** The source's running totals, loaded from ClickHouse on first use. */
  totals: (source: string, nowMs: number) => Promise<SourceTotals>;
  nowMs: number;
  startedMs: number;
}

export async function countBatch(batch: readonly Record_[], ctx: CountContext): Promise<CountedBatch> {
  const { stats, view, rawBody, nowMs } = ctx;
  const deadLetters: DeadLetter[] = [];
  // Keyed by topic and partition number: no string is built per record.
  const partitions = new Map<string, Map<number, PartitionBatch>>();
  for (const message of batch) {
    let byPartition = partitions.get(message.topic);
    if (byPartition === undefined) partitions.set(message.topic, (byPartition = new Map()));
    let part = byPartition.get(message.partition);
    if (part === undefined) {
      const source = `kafka:${message.topic}:${message.partition}`;
      // A source not loaded yet has none of our writes in flight, so loading it here is safe.
      part = {
        source,
        sourceTsv: Buffer.from(tsvString(source), 'utf8'),
        totals: await ctx.totals(source, nowMs),
        snapshot: 0,
        last: message,
        live: [],
      };
      byPartition.set(message.partition, part);
    }
    part.last = message;
    const { source, totals } = part;
    const offset = Number(message.offset);
    try {
      // A null record value (a tombstone) arrives as undefined: malformed like any other.
      readEvent(message.value ?? Buffer.alloc(0), view);
    } catch (error) {
      if (!(error instanceof EventDecodeError)) throw error;
      deadLetters.push({
        key: message.key,
        value: message.value ?? Buffer.alloc(0),
        reason: `malformed: ${error.reason}: ${error.message}`,
        source,
        offset,
      });
      stats.deadLetter++;
      continue;
    }
    const result = totals.countView(view, offset, nowMs);
    if (result === 'duplicate') stats.duplicate++;
    else if (result === 'too_late') {
      stats.tooLate++;
      stats.deadLetter++;
      deadLetters.push({
        key: message.key,
        value: message.value ?? Buffer.alloc(0),
        reason: 'too_late',
        source,
        offset,
      });
    } else {
      if (result === 'counted') stats.counted++;
      else stats.redelivered++;
      // Redelivered too: Redis keeps its own per-partition mark and skips what it already has.
      const event = { startMs: view.startMs, appId: view.appId, service: view.service, interim: view.interim };
      part.live.push({ offset, event });
      // Redelivered events are written again too: access_events collapses them.
      rawBody.add(view, part.sourceTsv, offset);
    }
  }
  const parts = [...partitions.values()].flatMap((byPartition) => [...byPartition.values()]);
  const hourly: AggregateRow[] = [];
  const daily: AggregateRow[] = [];
  // Snapshotted before the caller awaits anything: a key the previous batch's markWritten() clears is already in these
  // rows.
  for (const part of parts) {
    const rows = part.totals.dirtyRows();
    part.snapshot = rows.snapshot;
    hourly.push(...rows.hourly);
    daily.push(...rows.daily);
  }
  return {
    records: batch.length,
    parts,
    deadLetters,
    rawBody,
    hourly,
    daily,
    nowMs,
    startedMs: ctx.startedMs,
    countMs: performance.now() - ctx.startedMs,
  };
}
