import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Granularity, TrafficCounters, TrafficDelta } from '../aggregate/traffic.ts';
import { addArrays } from '../aggregate/traffic.ts';
import { grpcSlotOf } from '../aggregate/traffic.ts';
import type { ClassFilter, DailyAppRow, DailySelection, TrafficSelection } from '../reports/source.ts';
import type { ExampleSelection } from '../reports/source.ts';
import type { ExampleKind, TraceExample } from '../aggregate/trace-examples.ts';
import {
  ADDED_COLUMNS,
  SCHEMA_SQL,
  splitByClassSql,
  TRAFFIC_TABLES,
  UPSERT_TRACE_EXAMPLE_SQL,
  upsertTrafficSql,
} from './store-schema.ts';

/** A record that could not be decoded, kept for inspection. */
export interface DeadLetter {
  source: string;
  position: number;
  reason: string;
  raw: Uint8Array;
}

/** Everything one batch of one source changes, applied as one transaction. */
export interface StoreBatch {
  source: string;
  /** The position the batch was read from: must equal the stored one (or nothing stored yet). */
  from: number;
  /** The position after the batch's last record: where the next batch starts. */
  next: number;
  deltas: TrafficDelta[];
  deadLetters: DeadLetter[];
  /** The batch's example traces (none when nothing was traced). */
  examples?: TraceExample[];
}

export interface StoredTrafficRow {
  bucketStartMs: number;
  appId: string;
  service: string;
  counters: TrafficCounters;
}

/** Bytes of a dead letter kept; the full length is stored beside them. */
export const MAX_DEAD_LETTER_BYTES = 4096;
/** Newest dead letters kept; older ones are deleted as new ones arrive. */
export const MAX_DEAD_LETTER_ROWS = 10_000;

/** Thrown when a batch does not continue from the stored position: applying it would count records twice or skip some.
 * */
export class StalePositionError extends Error {
  constructor(source: string, stored: number, from: number) {
    super(`batch of ${source} starts at ${from} but the store is at ${stored}`);
    this.name = 'StalePositionError';
  }
}

type Row = Record<string, unknown>;

/**
 * The single-node aggregate store. Exactly once: a batch's counter deltas, its
 * dead letters and its source's next position commit in one SQLite transaction,
 * and a collector resumes from the stored position, so a crash at any moment
 * leaves either all of a batch or none of it.
 */
export class EmbeddedStore {
  readonly #db: DatabaseSync;
  readonly #upsert: Record<Granularity, StatementSync>;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#upsert = {
      hour: db.prepare(upsertTrafficSql(TRAFFIC_TABLES.hour)),
      day: db.prepare(upsertTrafficSql(TRAFFIC_TABLES.day)),
    };
  }

  /** Opens (creating when missing) the store at `path`; ':memory:' for a throwaway one. */
  static open(path: string): EmbeddedStore {
    const db = new DatabaseSync(path);
    // WAL keeps readers (reports) off the writer's lock; FULL makes a commit durable
    // before the segment log's checkpoint (written after it) can let segments be deleted.
    // The busy timeout goes first: switching to WAL takes a lock another connection opening
    // the same file may hold (two collector threads starting at once got SQLITE_BUSY).
    db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    db.function('add_arrays', { deterministic: true }, (a, b) => JSON.stringify(addJsonArrays(String(a), String(b))));
    db.exec(SCHEMA_SQL);
    for (const table of Object.values(TRAFFIC_TABLES)) {
      const has = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Row[]).map((c) => String(c.name)));
      for (const [column, definition] of ADDED_COLUMNS) {
        if (!has.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      }
      if (!has.has('protocol')) {
        db.exec('BEGIN IMMEDIATE');
        try {
          db.exec(splitByClassSql(table));
          db.exec('COMMIT');
        } catch (error) {
          db.exec('ROLLBACK');
          throw error;
        }
      }
    }
    return new EmbeddedStore(db);
  }

  /** Where `source` is consumed up to, or undefined when nothing of it was ever stored. */
  positionOf(source: string): number | undefined {
    const row = this.#statement('SELECT position FROM consumer_offsets WHERE source = ?').get(source) as
      | Row
      | undefined;
    return row === undefined ? undefined : Number(row.position);
  }

  /** Applies the whole batch or, on any error (including StalePositionError), none of it. */
  applyBatch(batch: StoreBatch, nowMs = Date.now()): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const stored = this.positionOf(batch.source);
      if (stored !== undefined && stored !== batch.from) throw new StalePositionError(batch.source, stored, batch.from);
      for (const d of batch.deltas) {
        const c = d.counters;
        this.#upsert[d.granularity].run(
          d.appId,
          d.service,
          d.bucketStartMs,
          d.protocol,
          d.grpcSlot,
          c.requests,
          c.status2xx,
          c.status3xx,
          c.status4xx,
          c.status5xx,
          c.billable,
          c.bytesIn,
          c.bytesOut,
          JSON.stringify(c.rejections),
          JSON.stringify(c.latency),
          JSON.stringify(c.protocols),
          JSON.stringify(c.grpcStatuses),
          c.messagesIn,
          c.messagesOut,
        );
      }
      const example = batch.examples?.length ? this.#statement(UPSERT_TRACE_EXAMPLE_SQL) : undefined;
      for (const e of batch.examples ?? []) {
        example?.run(e.appId, e.service, e.bucketStartMs, e.kind, e.traceId, e.route, e.status, e.startMs, e.totalUs);
      }
      if (batch.deadLetters.length > 0) this.#insertDeadLetters(batch.deadLetters, nowMs);
      this.#statement(
        `INSERT INTO consumer_offsets (source, position, updated_ms) VALUES (?, ?, ?)
         ON CONFLICT (source) DO UPDATE SET position = excluded.position, updated_ms = excluded.updated_ms`,
      ).run(batch.source, batch.next, nowMs);
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Stored rows whose bucket start is in [fromMs, toMs), one per (bucket, app, service, class), oldest first. */
  trafficRows(q: TrafficSelection): StoredTrafficRow[] {
    const { where, params } = windowFilter(q);
    addClassFilter(q, where, params);
    const sql = `SELECT * FROM ${TRAFFIC_TABLES[q.granularity]} WHERE ${where.join(' AND ')}
      ORDER BY bucket_ms, app_id, service`;
    return (this.#statement(sql).all(...params) as Row[]).map((r) => ({
      bucketStartMs: Number(r.bucket_ms),
      appId: String(r.app_id),
      service: String(r.service),
      counters: {
        requests: Number(r.requests),
        status2xx: Number(r.status_2xx),
        status3xx: Number(r.status_3xx),
        status4xx: Number(r.status_4xx),
        status5xx: Number(r.status_5xx),
        billable: Number(r.billable),
        bytesIn: Number(r.bytes_in),
        bytesOut: Number(r.bytes_out),
        messagesIn: Number(r.messages_in),
        messagesOut: Number(r.messages_out),
        rejections: JSON.parse(String(r.rejections)) as number[],
        latency: JSON.parse(String(r.latency)) as number[],
        protocols: JSON.parse(String(r.protocols)) as number[],
        grpcStatuses: JSON.parse(String(r.grpc_statuses)) as number[],
      },
    }));
  }

  /** Requests and billable requests per app and UTC day in [fromMs, toMs), summed over services and classes. */
  dailyAppRows(q: DailySelection): DailyAppRow[] {
    const where = ['bucket_ms >= ?', 'bucket_ms < ?'];
    const params: Array<string | number> = [q.fromMs, q.toMs];
    addClassFilter(q, where, params);
    // One row per service and class, summed here: SQLite has no aggregate for the JSON arrays, and a day has few.
    const sql = `SELECT bucket_ms, app_id, requests, billable, protocols FROM ${TRAFFIC_TABLES.day}
      WHERE ${where.join(' AND ')} ORDER BY bucket_ms, app_id`;
    const out: DailyAppRow[] = [];
    for (const r of this.#statement(sql).all(...params) as Row[]) {
      const dayStartMs = Number(r.bucket_ms);
      const appId = String(r.app_id);
      const protocols = JSON.parse(String(r.protocols)) as number[];
      const last = out.at(-1);
      if (last?.dayStartMs === dayStartMs && last.appId === appId) {
        last.requests += Number(r.requests);
        last.billable += Number(r.billable);
        last.protocols = addArrays(last.protocols, protocols);
      } else out.push({ dayStartMs, appId, requests: Number(r.requests), billable: Number(r.billable), protocols });
    }
    return out;
  }

  /** Stored example traces of the hours in [fromMs, toMs): errors first, then the slowest first. */
  traceExamples(q: ExampleSelection): TraceExample[] {
    const { where, params } = windowFilter(q);
    const sql = `SELECT * FROM trace_examples WHERE ${where.join(' AND ')}
      ORDER BY kind = 'error' DESC, total_us DESC, bucket_ms, app_id, service LIMIT ?`;
    return (this.#statement(sql).all(...params, q.limit) as Row[]).map((r) => ({
      bucketStartMs: Number(r.bucket_ms),
      appId: String(r.app_id),
      service: String(r.service),
      kind: String(r.kind) as ExampleKind,
      traceId: String(r.trace_id),
      route: String(r.route),
      status: Number(r.status),
      startMs: Number(r.start_ms),
      totalUs: Number(r.total_us),
    }));
  }

  deadLetters(limit = 100): Array<DeadLetter & { rawBytes: number; receivedMs: number }> {
    const sql = 'SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?';
    return (this.#statement(sql).all(limit) as Row[]).map((r) => ({
      source: String(r.source),
      position: Number(r.position),
      reason: String(r.reason),
      raw: r.raw as Uint8Array,
      rawBytes: Number(r.raw_bytes),
      receivedMs: Number(r.received_ms),
    }));
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #insertDeadLetters(letters: DeadLetter[], nowMs: number): void {
    // OR IGNORE: a (source, position) is one record, dead-lettered once.
    const insert = this.#statement(
      'INSERT OR IGNORE INTO dead_letters (source, position, ' +
        'reason, raw, raw_bytes, received_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const l of letters) {
      insert.run(l.source, l.position, l.reason, l.raw.subarray(0, MAX_DEAD_LETTER_BYTES), l.raw.length, nowMs);
    }
    this.#statement('DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - ?').run(
      MAX_DEAD_LETTER_ROWS,
    );
  }

  #statement(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }
}

/** The WHERE terms and parameters of a window of buckets, [fromMs, toMs), and of an app and a service when named. */
function windowFilter(q: { fromMs: number; toMs: number; appId?: string; service?: string }) {
  const where = ['bucket_ms >= ?', 'bucket_ms < ?'];
  const params: Array<string | number> = [q.fromMs, q.toMs];
  if (q.appId !== undefined) {
    where.push('app_id = ?');
    params.push(q.appId);
  }
  if (q.service !== undefined) {
    where.push('service = ?');
    params.push(q.service);
  }
  return { where, params };
}

function addClassFilter(q: ClassFilter, where: string[], params: Array<string | number>): void {
  if (q.protocol !== undefined) {
    where.push('protocol = ?');
    params.push(q.protocol);
  }
  if (q.grpcStatus !== undefined) {
    where.push('grpc_slot = ?');
    params.push(grpcSlotOf(q.grpcStatus));
  }
}

function addJsonArrays(a: string, b: string): number[] {
  return addArrays(JSON.parse(a) as number[], JSON.parse(b) as number[]);
}
