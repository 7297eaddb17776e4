/**
 * The running totals of one source (one Kafka partition) as
 * migrations/README.md prescribes: per (granularity, bucket, app, service, class) the
 * cumulative counters and the offset of the last event counted into them (the
 * key's mark). An event is counted into a key only above its mark, so
 * redelivery from any earlier offset, however batches are cut, adds nothing;
 * every row written is a pure function of the log's prefix.
 */
import type { AccessEvent, Protocol } from '../../shared/access-event.ts';
import { PROTOCOLS } from '../../shared/access-event.ts';
import type { EventView } from '../aggregate/event-view.ts';
import { IdWindow } from './id-window.ts';
import type { ClickHouseClient } from '../clickhouse/http-client.ts';
import { dateTimeFromEpochS, quoteString } from '../clickhouse/sql.ts';
import { newestPerKey } from '../clickhouse/traffic-sql.ts';
import type { TrafficClass, TrafficCounters } from '../aggregate/traffic.ts';
import { addEvent, type CountedEvent, emptyCounters, grpcSlotOf } from '../aggregate/traffic.ts';
import type { AggregateColumns } from './traffic-counters.ts';
import { AGGREGATE_COLUMNS, fromColumns, toColumns } from './traffic-counters.ts';

export const HOUR_S = 3600;
const PROTOCOL_INDEX = Object.fromEntries(PROTOCOLS.map((p, i) => [p, i])) as Record<Protocol, number>;
export const DAY_S = 86_400;

export type CountResult = 'counted' | 'redelivered' | 'duplicate' | 'too_late';

interface KeyTotals extends TrafficClass {
  bucketS: number;
  appId: string;
  service: string;
  /** Offset of the last event counted into counters; -1 = none yet. */
  mark: number;
  counters: TrafficCounters;
  dirty: boolean;
  /** The dirtyRows() snapshot the key's last count goes out in. */
  snapshot: number;
}

export interface AggregateRow extends AggregateColumns {
  bucket: number;
  app_id: string;
  service: string;
  source: string;
  source_offset: number;
  protocol: string;
  grpc_slot: number;
}

/** The keys an event of one (app, service, class) last counted into; most events hit them. */
interface RecentKeys {
  hour: KeyTotals;
  day: KeyTotals;
}

export interface SourceTotalsOptions {
  /** Events whose start is older than this (vs. the clock) are not counted (default 48 h). */
  latenessMs: number;
  /** A repeated event_id within this many offsets of its first occurrence is a duplicate. */
  dedupOffsets: number;
}

export class SourceTotals {
  readonly source: string;
  readonly #options: SourceTotalsOptions;
  readonly #hourly = new Map<string, KeyTotals>();
  readonly #daily = new Map<string, KeyTotals>();
  /** event_id → offset of its first occurrence, in offset order (oldest first). */
  readonly #seen = new IdWindow();
  /**
   * app → service → class (protocol index × 32 + grpcSlot) → the keys its latest event was counted into; only
   * ever points at keys in the maps above.
   */
  readonly #recent = new Map<string, Map<string, Map<number, RecentKeys>>>();
  /** The number the next dirtyRows() snapshot gets. */
  #snapshot = 0;
  /** Day buckets before this were not loaded (or were evicted): never count into them. */
  #loadedFromS = 0;

  constructor(source: string, options: SourceTotalsOptions) {
    this.source = source;
    this.#options = options;
  }

  /**
   * Loads the newest row of every key of this source within the lateness
   * window, per table, and the event ids counted in the dedup window. Must run
   * when none of this collector's writes for the source is in flight.
   */
  async load(db: ClickHouseClient, nowMs: number): Promise<void> {
    // Day-aligned and a day early, so no key an accepted event can touch is missing.
    this.#loadedFromS = Math.floor((nowMs - this.#options.latenessMs) / 1000 / DAY_S) * DAY_S - DAY_S;
    let highestMark = -1;
    for (const [table, keys] of [
      ['traffic_hourly', this.#hourly],
      ['traffic_daily', this.#daily],
    ] as const) {
      keys.clear();
      const where = [`source = ${quoteString(this.source)}`, `bucket >= ${dateTimeFromEpochS(this.#loadedFromS)}`];
      const rows = await db.query<Record<string, unknown>>(
        `SELECT toUInt32(bucket) AS bucket_s, app_id, service, protocol, grpc_slot, source_offset AS mark,
  ${AGGREGATE_COLUMNS.join(', ')}
FROM (${newestPerKey(table, [...AGGREGATE_COLUMNS, 'source_offset'], where)})`,
      );
      for (const row of rows) {
        const key: KeyTotals = {
          bucketS: Number(row.bucket_s),
          appId: String(row.app_id),
          service: String(row.service),
          protocol: String(row.protocol) as TrafficClass['protocol'],
          grpcSlot: Number(row.grpc_slot),
          mark: Number(row.mark),
          counters: fromColumns(row),
          dirty: false,
          snapshot: 0,
        };
        keys.set(keyOf(key.bucketS, key.appId, key.service, key.protocol, key.grpcSlot), key);
        highestMark = Math.max(highestMark, key.mark);
      }
    }
    this.#recent.clear();
    this.#seen.clear();
    if (highestMark < 0) return;
    const ids = await db.query<{ event_id: string; first: number }>(`SELECT event_id, min(source_offset) AS first
FROM access_events
WHERE source = ${quoteString(this.source)} AND ts >= ${dateTimeFromEpochS(this.#loadedFromS)}
    AND source_offset > ${Math.max(0, highestMark - this.#options.dedupOffsets)}
GROUP BY event_id
ORDER BY first`);
    for (const { event_id, first } of ids) this.#seen.rememberText(event_id, Number(first), Number.NEGATIVE_INFINITY);
  }

  /**
   * Adds the event at `offset` to its hour and day keys where it is above
   * their marks. Offsets of one source must arrive in increasing order, except
   * that a redelivery may start again anywhere below.
   */
  count(event: AccessEvent, offset: number, nowMs: number): CountResult {
    const first = this.#seen.firstOfText(event.id);
    if (this.#isDuplicate(first, offset)) return 'duplicate';
    if (this.#isTooLate(event.startMs, nowMs)) return 'too_late';
    if (first < 0) this.#seen.rememberText(event.id, offset, offset - this.#options.dedupOffsets);
    return this.#countInto(event, offset);
  }

  /** count() for a record read by event-view.ts: the id is looked up by its bytes, no string is made. */
  countView(view: EventView, offset: number, nowMs: number): CountResult {
    if (view.idAt < 0) return this.count(view.event as AccessEvent, offset, nowMs);
    const first = this.#seen.firstOfBytes(view.bytes, view.idAt);
    if (this.#isDuplicate(first, offset)) return 'duplicate';
    if (this.#isTooLate(view.startMs, nowMs)) return 'too_late';
    if (first < 0) this.#seen.rememberBytes(view.bytes, view.idAt, offset, offset - this.#options.dedupOffsets);
    return this.#countInto(view, offset);
  }

  /** The id was first seen at `first` (-1: not held): a duplicate when that is earlier and within the window. */
  #isDuplicate(first: number, offset: number): boolean {
    return first >= 0 && first < offset && offset - first <= this.#options.dedupOffsets;
  }

  #isTooLate(startMs: number, nowMs: number): boolean {
    const dayS = Math.floor(startMs / 1000 / DAY_S) * DAY_S;
    return startMs < nowMs - this.#options.latenessMs || dayS < this.#loadedFromS;
  }

  #countInto(event: CountedEvent, offset: number): CountResult {
    const hourS = Math.floor(event.startMs / 1000 / HOUR_S) * HOUR_S;
    const dayS = Math.floor(event.startMs / 1000 / DAY_S) * DAY_S;
    const grpcSlot = grpcSlotOf(event.grpcStatus);
    // The (app, service, class) current hour and day keys are cached: most events
    // hit them, which spares building and hashing a key string per event.
    let byService = this.#recent.get(event.appId);
    if (byService === undefined) this.#recent.set(event.appId, (byService = new Map()));
    let byClass = byService.get(event.service);
    if (byClass === undefined) byService.set(event.service, (byClass = new Map()));
    const classId = PROTOCOL_INDEX[event.protocol] * 32 + grpcSlot;
    let recent = byClass.get(classId);
    if (recent === undefined) {
      const hour = this.#key(this.#hourly, hourS, event, grpcSlot);
      recent = { hour, day: this.#key(this.#daily, dayS, event, grpcSlot) };
      byClass.set(classId, recent);
    } else {
      if (recent.hour.bucketS !== hourS) recent.hour = this.#key(this.#hourly, hourS, event, grpcSlot);
      if (recent.day.bucketS !== dayS) recent.day = this.#key(this.#daily, dayS, event, grpcSlot);
    }
    const hour = countInto(recent.hour, event, offset, this.#snapshot);
    const day = countInto(recent.day, event, offset, this.#snapshot);
    return hour || day ? 'counted' : 'redelivered';
  }

  /**
   * The new cumulative rows of every key counted into since the last
   * markWritten(), and the number of this snapshot for markWritten(upTo).
   */
  dirtyRows(): { hourly: AggregateRow[]; daily: AggregateRow[]; snapshot: number } {
    const rows = { hourly: this.#rows(this.#hourly), daily: this.#rows(this.#daily), snapshot: this.#snapshot };
    this.#snapshot++;
    return rows;
  }

  /**
   * The rows of snapshots up to `upTo` are in ClickHouse. A key counted into
   * after that snapshot stays dirty: the collector counts the next batch while
   * this one is written.
   */
  markWritten(upTo = Number.POSITIVE_INFINITY): void {
    for (const keys of [this.#hourly, this.#daily])
      for (const key of keys.values()) if (key.snapshot <= upTo) key.dirty = false;
  }

  /** Forgets keys wholly outside the lateness window; events for them are too late from now on. */
  evict(nowMs: number): void {
    const fromS = Math.floor((nowMs - this.#options.latenessMs) / 1000 / DAY_S) * DAY_S - DAY_S;
    if (fromS <= this.#loadedFromS) return;
    this.#loadedFromS = fromS;
    for (const keys of [this.#hourly, this.#daily]) {
      for (const [id, key] of keys) if (key.bucketS < fromS && !key.dirty) keys.delete(id);
    }
    this.#recent.clear();
  }

  #key(keys: Map<string, KeyTotals>, bucketS: number, event: CountedEvent, grpcSlot: number): KeyTotals {
    const id = keyOf(bucketS, event.appId, event.service, event.protocol, grpcSlot);
    let key = keys.get(id);
    if (!key) {
      key = {
        bucketS,
        appId: event.appId,
        service: event.service,
        protocol: event.protocol,
        grpcSlot,
        mark: -1,
        counters: emptyCounters(),
        dirty: false,
        snapshot: 0,
      };
      keys.set(id, key);
    }
    return key;
  }

  #rows(keys: Map<string, KeyTotals>): AggregateRow[] {
    const rows: AggregateRow[] = [];
    for (const key of keys.values()) {
      if (!key.dirty) continue;
      rows.push({
        bucket: key.bucketS,
        app_id: key.appId,
        service: key.service,
        source: this.source,
        source_offset: key.mark,
        protocol: key.protocol,
        grpc_slot: key.grpcSlot,
        ...toColumns(key.counters),
      });
    }
    return rows;
  }
}

/** Adds the event at `offset` to the key if it is above the key's mark. */
function countInto(key: KeyTotals, event: CountedEvent, offset: number, snapshot: number): boolean {
  if (offset <= key.mark) return false;
  addEvent(key.counters, event);
  key.mark = offset;
  key.dirty = true;
  key.snapshot = snapshot;
  return true;
}

function keyOf(bucketS: number, appId: string, service: string, protocol: string, grpcSlot: number): string {
  return `${bucketS}\u0000${appId}\u0000${service}\u0000${protocol}\u0000${grpcSlot}`;
}
