/**
 * Per (granularity, bucket, app, service, traffic class) traffic counters, built from access
 * events without I/O. Every field is a sum, so counters aggregated from any
 * split of the events and merged give the same result as one pass over all of
 * them: batches, sources and services merge by addition alone.
 */
import { ERROR_CLASSES, GRPC_STATUS_SLOTS, PROTOCOLS } from '../../shared/access-event.ts';
import type { AccessEvent, Protocol } from '../../shared/access-event.ts';
import { isBillable } from '../../shared/billable.ts';
import { LATENCY_BUCKETS_S } from '../../shared/latency-buckets.ts';

export interface TrafficCounters {
  requests: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  billable: number;
  bytesIn: number;
  bytesOut: number;
  /** WebSocket data messages and gRPC messages from clients and to them (interim events' too). */
  messagesIn: number;
  messagesOut: number;
  /** Requests per error class, indexed like ERROR_CLASSES; slot 0 ('none') stays 0. */
  rejections: number[];
  /**
   * Requests per latency bucket of totalUs (not cumulative), `le` semantics like
   * Prometheus against LATENCY_BUCKETS_S, plus a last +Inf slot.
   */
  latency: number[];
  /**
   * Requests per protocol, indexed like PROTOCOLS; slot 0 (http/1.1) stays 0, as HTTP/1.1 is what is left of
   * `requests` (protocolCounts), so counters stored before protocols existed read right.
   */
  protocols: number[];
  /** gRPC calls per grpc-status 0..16; a code beyond 16 counts as 2 (UNKNOWN), a call without one not at all. */
  grpcStatuses: number[];
}

export type Granularity = 'hour' | 'day';

export const GRANULARITIES: readonly Granularity[] = ['hour', 'day'];

/**
 * What a stored row's requests have in common beside bucket, app and service, so that reports and billing can be
 * filtered by it: the protocol the client spoke and, for a gRPC call, its status. `protocol` '' marks a row counted
 * before rows were split this way (a mix of protocols, told apart only by its `protocols` counters).
 */
export interface TrafficClass {
  protocol: Protocol | '';
  /** grpc-status + 1 (a code beyond 16 as UNKNOWN); 0 for a request that is not a gRPC call. */
  grpcSlot: number;
}

export interface TrafficDelta extends TrafficClass {
  granularity: Granularity;
  /** UTC hour or day start, epoch milliseconds. */
  bucketStartMs: number;
  appId: string;
  service: string;
  counters: TrafficCounters;
}

const BUCKET_MS: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000 };
/** Rounded like the ClickHouse report (collector/clickhouse/traffic-report.ts), so both compare bucket by bucket. */
const LATENCY_BOUNDS_US = LATENCY_BUCKETS_S.map((s) => Math.round(s * 1e6));
const LATENCY_BOUNDS_MS = LATENCY_BUCKETS_S.map((s) => s * 1000);
const ERROR_CLASS_INDEX = new Map<string, number>(ERROR_CLASSES.map((c, i) => [c, i]));
const PROTOCOL_INDEX = new Map<string, number>(PROTOCOLS.map((p, i) => [p, i]));

/** Epoch ms and 86,400,000 ms days are both UTC-aligned, so flooring gives UTC hour and day starts. */
export function bucketStartMs(granularity: Granularity, epochMs: number): number {
  const size = BUCKET_MS[granularity];
  return Math.floor(epochMs / size) * size;
}

export function bucketSizeMs(granularity: Granularity): number {
  return BUCKET_MS[granularity];
}

export function emptyCounters(): TrafficCounters {
  return {
    requests: 0,
    status2xx: 0,
    status3xx: 0,
    status4xx: 0,
    status5xx: 0,
    billable: 0,
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    rejections: new Array<number>(ERROR_CLASSES.length).fill(0),
    latency: new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0),
    protocols: new Array<number>(PROTOCOLS.length).fill(0),
    grpcStatuses: new Array<number>(GRPC_STATUS_SLOTS).fill(0),
  };
}

/** Requests per protocol name, HTTP/1.1 included. */
export function protocolCounts(c: Pick<TrafficCounters, 'requests' | 'protocols'>): Record<Protocol, number> {
  const out = {} as Record<Protocol, number>;
  let other = 0;
  for (let i = 1; i < PROTOCOLS.length; i++) other += c.protocols[i] ?? 0;
  out['http/1.1'] = c.requests - other;
  for (let i = 1; i < PROTOCOLS.length; i++) out[PROTOCOLS[i]] = c.protocols[i] ?? 0;
  return out;
}

/** TrafficClass.grpcSlot of an event's grpcStatus (-1: not a gRPC call). */
export function grpcSlotOf(grpcStatus: number): number {
  return grpcStatus < 0 ? 0 : (grpcStatus < GRPC_STATUS_SLOTS ? grpcStatus : 2) + 1;
}

/** The slot of `totalUs` in `latency`. */
export function latencySlot(totalUs: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_US.length; i++) if (totalUs <= LATENCY_BOUNDS_US[i]) return i;
  return LATENCY_BOUNDS_US.length;
}

/** The fields addEvent reads, so the cluster collector can pass its view of a record (event-view.ts). */
export type CountedFields = Pick<
  AccessEvent,
  | 'status'
  | 'upstreamStatus'
  | 'errorClass'
  | 'bytesIn'
  | 'bytesOut'
  | 'totalUs'
  | 'protocol'
  | 'grpcStatus'
  | 'interim'
  | 'messagesIn'
  | 'messagesOut'
>;

export function addEvent(c: TrafficCounters, e: CountedFields): void {
  // A connection still open: its traffic so far lands in the hour it flowed, its one request at its end.
  c.bytesIn += e.bytesIn;
  c.bytesOut += e.bytesOut;
  c.messagesIn += e.messagesIn;
  c.messagesOut += e.messagesOut;
  if (e.interim) return;
  c.requests += 1;
  const statusClass = Math.floor(e.status / 100);
  if (statusClass === 2) c.status2xx += 1;
  else if (statusClass === 3) c.status3xx += 1;
  else if (statusClass === 4) c.status4xx += 1;
  else if (statusClass === 5) c.status5xx += 1;
  if (isBillable(e)) c.billable += 1;
  const errorIndex = ERROR_CLASS_INDEX.get(e.errorClass) ?? 0;
  if (errorIndex !== 0) c.rejections[errorIndex] += 1;
  c.latency[latencySlot(e.totalUs)] += 1;
  const protocolIndex = PROTOCOL_INDEX.get(e.protocol) ?? 0;
  if (protocolIndex !== 0) c.protocols[protocolIndex] += 1;
  const grpcSlot = grpcSlotOf(e.grpcStatus);
  if (grpcSlot !== 0) c.grpcStatuses[grpcSlot - 1] += 1;
}

/** a + b, field by field. Arrays of different lengths (a list grew since a row was stored) keep the longer length. */
export function mergeCounters(a: TrafficCounters, b: TrafficCounters): TrafficCounters {
  return {
    requests: a.requests + b.requests,
    status2xx: a.status2xx + b.status2xx,
    status3xx: a.status3xx + b.status3xx,
    status4xx: a.status4xx + b.status4xx,
    status5xx: a.status5xx + b.status5xx,
    billable: a.billable + b.billable,
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    messagesIn: a.messagesIn + b.messagesIn,
    messagesOut: a.messagesOut + b.messagesOut,
    rejections: addArrays(a.rejections, b.rejections),
    latency: addArrays(a.latency, b.latency),
    protocols: addArrays(a.protocols, b.protocols),
    grpcStatuses: addArrays(a.grpcStatuses, b.grpcStatuses),
  };
}

/** a + b slot by slot, as long as the longer. */
export function addArrays(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return out;
}

/**
 * The q-quantile of a latency histogram in milliseconds, as Prometheus'
 * histogram_quantile computes it: find the bucket the rank q × total falls in
 * and interpolate linearly inside it (the first bucket starts at 0; a rank in
 * the +Inf bucket answers the highest finite bound). 0 for an empty histogram.
 * Rounded to the microsecond, as the ClickHouse report rounds.
 */
export function quantileMs(latency: readonly number[], q: number): number {
  let total = 0;
  for (const n of latency) total += n;
  if (total === 0) return 0;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < latency.length; i++) {
    const cumulative = below + latency[i];
    if (cumulative >= rank && latency[i] > 0) {
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1];
      const upper = LATENCY_BOUNDS_MS[i];
      return Math.round((lower + (upper - lower) * ((rank - below) / latency[i])) * 1000) / 1000;
    }
    below = cumulative;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}

/** What counting reads of an event: an AccessEvent, or a collector's view of its record (event-view.ts). */
export type CountedEvent = CountedFields & Pick<AccessEvent, 'startMs' | 'appId' | 'service'>;

const PROTOCOL_SLOTS = 32;
/** app → service → class (protocol index × 32 + grpcSlot) → bucket → its row. */
type RowIndex = Map<string, Map<string, Map<number, Map<number, TrafficDelta>>>>;

/**
 * Sums events into hour and day counters per (app, service, traffic class). One instance
 * serves one batch: add its events, then drain the deltas to write.
 */
export class TrafficAggregator {
  #rows: TrafficDelta[] = [];
  /** Per granularity, nested maps of the event's own strings and numbers: adding an event builds no key string. */
  #index: Record<Granularity, RowIndex> = { hour: new Map(), day: new Map() };

  get size(): number {
    return this.#rows.length;
  }

  add(e: CountedEvent): void {
    const grpcSlot = grpcSlotOf(e.grpcStatus);
    const classId = (PROTOCOL_INDEX.get(e.protocol) ?? 0) * PROTOCOL_SLOTS + grpcSlot;
    for (const granularity of GRANULARITIES) {
      // Keyed by the bucket's number (hours or days since the epoch, a small integer), not its start in ms: a
      // double key would be a heap number made per event.
      const bucket = Math.floor(e.startMs / BUCKET_MS[granularity]);
      const byApp = this.#index[granularity];
      let byService = byApp.get(e.appId);
      if (byService === undefined) byApp.set(e.appId, (byService = new Map()));
      let byClass = byService.get(e.service);
      if (byClass === undefined) byService.set(e.service, (byClass = new Map()));
      let byBucket = byClass.get(classId);
      if (byBucket === undefined) byClass.set(classId, (byBucket = new Map()));
      let row = byBucket.get(bucket);
      if (row === undefined) {
        const { appId, service, protocol } = e;
        const bucketStartMs = bucket * BUCKET_MS[granularity];
        row = { granularity, bucketStartMs, appId, service, protocol, grpcSlot, counters: emptyCounters() };
        byBucket.set(bucket, row);
        this.#rows.push(row);
      }
      addEvent(row.counters, e);
    }
  }

  /** The deltas added since the last drain; the aggregator is empty afterwards. */
  drain(): TrafficDelta[] {
    const out = this.#rows;
    this.#rows = [];
    this.#index = { hour: new Map(), day: new Map() };
    return out;
  }
}
