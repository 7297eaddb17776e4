/**
 * Access events for the collector suites, and the traffic report they must
 * produce, computed here independently of the collector.
 */
import { randomUUID } from 'node:crypto';
import { GRPC_STATUS_NAMES } from '../../shared/grpc-status.ts';
import { type AccessEvent, type ErrorClass, PLAIN_HTTP1, PROTOCOLS } from '../../shared/access-event.ts';
import type { ClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { aggregateReport, appTraffic, rawReport } from '../../collector/clickhouse/test-clickhouse.ts';
import type { TrafficReportRow } from '../../collector/reports/traffic-report.ts';

export const APPS = ['app-a', 'app-b', ''];
const SERVICES = ['orders', 'users'];
const STATUSES: [number, number, ErrorClass][] = [
  [200, 200, 'none'],
  [201, 201, 'none'],
  [304, 304, 'none'],
  [404, 404, 'none'],
  [429, 0, 'rate_limited'],
  [401, 0, 'unauthorized'],
  [503, 503, 'none'],
  [504, 0, 'upstream_timeout'],
];
const LATENCIES_US = [120, 700, 3_000, 40_000, 180_000, 900_000, 45_000_000];

/** n events spread over the last ~5 hours (so over hours, and sometimes two days), deterministic but for ids. */
export function makeEvents(n: number, nowMs = Date.now()): AccessEvent[] {
  const events: AccessEvent[] = [];
  for (let i = 0; i < n; i++) {
    const [status, upstreamStatus, errorClass] = STATUSES[(i * 7) % STATUSES.length];
    events.push({
      id: randomUUID(),
      startMs: nowMs - ((i * 7919) % (5 * 3600_000)),
      node: 'gw-1',
      appId: APPS[i % APPS.length],
      service: SERVICES[(i >> 1) % SERVICES.length],
      route: '/r',
      method: 'GET',
      status,
      upstreamStatus,
      totalUs: LATENCIES_US[(i * 3) % LATENCIES_US.length],
      upstreamUs: 0,
      gatewayUs: 50,
      bytesIn: 100 + (i % 13),
      bytesOut: 1000 + (i % 977),
      clientIp: '10.0.0.1',
      target: '',
      errorClass,
      traceId: '',
      ...protocolFields(i),
    });
  }
  return events;
}

/** Every tenth event as an interim event of a TCP connection still open: its bytes count, it is no request. */
export function withInterimEvents(events: AccessEvent[]): AccessEvent[] {
  return events.map((e, i) =>
    i % 10 === 9 ? { ...e, ...PLAIN_HTTP1, protocol: 'tcp', status: 200, upstreamStatus: 200, interim: true } : e,
  );
}

type Counts = Omit<TrafficReportRow, 'latency_p50_ms' | 'latency_p95_ms' | 'latency_p99_ms'>;

export function expectedCounts(events: readonly AccessEvent[], appId: string, granularity: 'hour' | 'day'): Counts[] {
  const stepMs = granularity === 'hour' ? 3600_000 : 86_400_000;
  const rows = new Map<number, Counts>();
  for (const e of events) {
    if (e.appId !== appId) continue;
    const bucketMs = Math.floor(e.startMs / stepMs) * stepMs;
    let row = rows.get(bucketMs);
    if (!row) {
      row = {
        bucket: new Date(bucketMs).toISOString(),
        requests: 0,
        status_2xx: 0,
        status_3xx: 0,
        status_4xx: 0,
        status_5xx: 0,
        bytes_in: 0,
        bytes_out: 0,
        messages_in: 0,
        messages_out: 0,
        protocols: { 'http/1.1': 0, h2: 0, grpc: 0, websocket: 0, tcp: 0 },
        grpc_statuses: {},
      };
      rows.set(bucketMs, row);
    }
    row.bytes_in += e.bytesIn;
    row.bytes_out += e.bytesOut;
    row.messages_in += e.messagesIn;
    row.messages_out += e.messagesOut;
    if (e.interim) continue; // a connection still open: its bytes, not a request
    row.protocols[e.protocol]++;
    if (e.grpcStatus >= 0) {
      const name = GRPC_STATUS_NAMES[e.grpcStatus];
      row.grpc_statuses[name] = (row.grpc_statuses[name] ?? 0) + 1;
    }
    row.requests++;
    const k = `status_${Math.floor(e.status / 100)}xx` as 'status_2xx';
    row[k]++;
  }
  return [...rows.entries()].sort(([a], [b]) => a - b).map(([, row]) => row);
}

export interface ReportCheck {
  /** Aggregate report counts, per app and granularity. */
  actual: Counts[][];
  expected: Counts[][];
  /** Aggregate report rows (with percentiles) and the same from the raw events. */
  aggregate: TrafficReportRow[][];
  raw: TrafficReportRow[][];
}

/** Every app's hourly and daily report: counts vs. the expectation, and aggregate vs. raw. */
export async function readReports(db: ClickHouseClient, events: readonly AccessEvent[]): Promise<ReportCheck> {
  const check: ReportCheck = { actual: [], expected: [], aggregate: [], raw: [] };
  for (const appId of APPS) {
    for (const granularity of ['hour', 'day'] as const) {
      const query = appTraffic(appId, granularity, 0, Math.floor(Date.now() / 1000) + 86_400);
      const rows = await aggregateReport(db, query);
      check.aggregate.push(rows);
      check.raw.push(await rawReport(db, query));
      check.actual.push(rows.map(({ latency_p50_ms, latency_p95_ms, latency_p99_ms, ...counts }) => counts));
      check.expected.push(expectedCounts(events, appId, granularity));
    }
  }
  return check;
}

/** Every third event is h2 (over TLS), every third a gRPC call with one of four statuses; the rest plain HTTP/1.1. */
function protocolFields(i: number): Pick<AccessEvent, keyof typeof PLAIN_HTTP1> {
  const protocol = PROTOCOLS[i % PROTOCOLS.length];
  if (protocol === 'http/1.1') return PLAIN_HTTP1;
  if (protocol === 'h2') return { ...PLAIN_HTTP1, protocol, tlsVersion: 'TLSv1.3' };
  return {
    ...PLAIN_HTTP1,
    protocol,
    tlsVersion: '',
    grpcStatus: [0, 0, 14, 5][(i >> 2) % 4],
    grpcMethod: '/shop.Cart/Add',
    messagesIn: 1 + (i % 3),
    messagesOut: 1,
  };
}
