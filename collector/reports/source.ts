import type { Protocol } from '../../shared/access-event.ts';
import type { Granularity, TrafficCounters } from '../aggregate/traffic.ts';
import type { TraceExample } from '../aggregate/trace-examples.ts';

/**
 * Where the reports API reads from: the single-node embedded store today, a
 * ClickHouse + Redis implementation in cluster mode. Sources return stored
 * counters; the report functions merge them and derive quantiles, so every
 * source gives the same numbers for the same events.
 */
export interface ReportSource {
  /** Traffic with bucket start in [fromMs, toMs); any number of rows per bucket (they are summed). */
  traffic(q: TrafficSelection): Promise<BucketTraffic[]>;
  /** Requests and billable requests per app and UTC day in [fromMs, toMs), summed over services. */
  dailyApps(q: DailySelection): Promise<DailyAppRow[]>;
  live(): Promise<LiveSnapshot>;
  /** The newest access events that match, newest first (the console's live tail): a bounded sample, not a report. */
  recentEvents(q: RecentSelection): Promise<RecentEvent[]>;
  /** Example traces of the hours in [fromMs, toMs) (aggregate/trace-examples.ts): errors first, then the slowest. */
  traceExamples(q: ExampleSelection): Promise<TraceExample[]>;
}

export interface ExampleSelection {
  fromMs: number;
  toMs: number;
  appId?: string;
  service?: string;
  /** At most this many (1..100). */
  limit: number;
}

export interface RecentSelection {
  /** At most this many (1..500). */
  limit: number;
  appId?: string;
  service?: string;
  /** Statuses from..to inclusive: one status (429 to 429) or a class (500 to 599). */
  statusFrom?: number;
  statusTo?: number;
}

/** One example trace as GET /reports/traffic/traces shows it. */
export interface TraceExampleRow {
  /** The hour's start, ISO 8601 UTC. */
  bucket: string;
  app_id: string;
  service: string;
  kind: 'slowest' | 'error';
  trace_id: string;
  /** Request start, ISO 8601 UTC with milliseconds. */
  time: string;
  route: string;
  status: number;
  total_ms: number;
}

/** One access event as GET /events/recent shows it. */
export interface RecentEvent {
  id: string;
  /** Request start, ISO 8601 UTC with milliseconds. */
  time: string;
  app_id: string;
  service: string;
  route: string;
  method: string;
  status: number;
  protocol: string;
  total_ms: number;
  client_ip: string;
  target: string;
  error_class: string;
  /** The gRPC status of a gRPC call, else null. */
  grpc_status: number | null;
  bytes_in: number;
  bytes_out: number;
  trace_id: string;
}

/** Whether an event with these fields is one `q` asks for. */
export function matchesRecent(q: RecentSelection, appId: string, service: string, status: number): boolean {
  return (
    (q.appId === undefined || appId === q.appId) &&
    (q.service === undefined || service === q.service) &&
    (q.statusFrom === undefined || status >= q.statusFrom) &&
    (q.statusTo === undefined || status <= q.statusTo)
  );
}

/**
 * The store behind a source cannot answer: unreachable, or not set up (its
 * database or tables missing). The reports API answers 503
 * GW_ERR_REPORTS_UNAVAILABLE with `message`, which names no address.
 */
export class ReportsUnavailableError extends Error {
  /** The admin API's error handler answers with this code and `message`. */
  readonly replyCode = 'GW_ERR_REPORTS_UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportsUnavailableError';
  }
}

/**
 * Only the requests of one protocol and/or one gRPC status; omitted = all. A filter reads only rows split by
 * class (TrafficClass, collector/aggregate/traffic.ts): requests counted before that split are left out of a
 * filtered answer and stay in unfiltered ones.
 */
export interface ClassFilter {
  protocol?: Protocol;
  /** A gRPC status code 0..16: only gRPC calls that ended with it. */
  grpcStatus?: number;
}

export interface DailySelection extends ClassFilter {
  fromMs: number;
  toMs: number;
}

export interface TrafficSelection extends ClassFilter {
  granularity: Granularity;
  fromMs: number;
  toMs: number;
  /** Only this app / service; omitted = summed over all. */
  appId?: string;
  service?: string;
}

export interface BucketTraffic {
  /** UTC hour or day start, epoch ms. */
  bucketStartMs: number;
  counters: TrafficCounters;
}

export interface DailyAppRow {
  dayStartMs: number;
  appId: string;
  requests: number;
  billable: number;
  /** Requests per protocol, as TrafficCounters.protocols (slot 0, HTTP/1.1, left 0). */
  protocols: number[];
}

export interface LiveRow {
  app_id: string;
  service: string;
  requests: number;
}

/**
 * GET /stats/live. `degraded` when the live counters cannot be read (cluster
 * mode with Redis away): the answer still comes, with the reason and no qps,
 * while traffic and billing reports stay exact.
 */
export type LiveSnapshot =
  | {
      status: 'ok';
      /** Requests per second over the last complete 10 seconds of request start times. */
      qps: number;
      /** Today's (UTC) requests per app and service. */
      today: LiveRow[];
      /** This hour's (UTC) requests per app and service; only the cluster source keeps them. */
      current_hour?: LiveRow[];
    }
  | { status: 'degraded'; reason: string; qps: null; today: LiveRow[]; current_hour?: LiveRow[] };
