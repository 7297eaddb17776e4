import type { Protocol } from '../../shared/access-event.ts';
import { GRPC_STATUS_NAMES, type GrpcStatusName } from '../../shared/grpc-status.ts';
import {
  emptyCounters,
  mergeCounters,
  protocolCounts,
  quantileMs,
  type TrafficCounters,
} from '../aggregate/traffic.ts';
import type { BucketTraffic } from './source.ts';

/** One row of GET /reports/traffic. */
export interface TrafficReportRow {
  /** Bucket start, ISO 8601 UTC. */
  bucket: string;
  requests: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  status_5xx: number;
  bytes_in: number;
  bytes_out: number;
  /** WebSocket data messages and gRPC messages from clients (in) and to them (out). */
  messages_in: number;
  messages_out: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_p99_ms: number;
  /** Requests per protocol the client spoke: http/1.1, h2, grpc (a gRPC call is not counted as h2 too). */
  protocols: Record<Protocol, number>;
  /** gRPC calls per status name (OK, UNAVAILABLE, …); only the statuses that occurred. */
  grpc_statuses: Partial<Record<GrpcStatusName, number>>;
}

/**
 * One row per bucket, oldest first. Rows of the same bucket (other apps,
 * services or sources) are summed and their histograms merged before the
 * quantiles are taken: a quantile of the merged histogram, never an average
 * of quantiles.
 */
export function trafficReport(rows: readonly BucketTraffic[]): TrafficReportRow[] {
  const byBucket = new Map<number, TrafficCounters>();
  for (const r of rows)
    byBucket.set(r.bucketStartMs, mergeCounters(byBucket.get(r.bucketStartMs) ?? emptyCounters(), r.counters));
  return [...byBucket.entries()]
    .sort(([a], [b]) => a - b)
    .map(([bucketStartMs, c]) => ({
      bucket: new Date(bucketStartMs).toISOString(),
      requests: c.requests,
      status_2xx: c.status2xx,
      status_3xx: c.status3xx,
      status_4xx: c.status4xx,
      status_5xx: c.status5xx,
      bytes_in: c.bytesIn,
      bytes_out: c.bytesOut,
      messages_in: c.messagesIn,
      messages_out: c.messagesOut,
      latency_p50_ms: quantileMs(c.latency, 0.5),
      latency_p95_ms: quantileMs(c.latency, 0.95),
      latency_p99_ms: quantileMs(c.latency, 0.99),
      protocols: protocolCounts(c),
      grpc_statuses: grpcStatusCounts(c),
    }));
}

function grpcStatusCounts(c: TrafficCounters): Partial<Record<GrpcStatusName, number>> {
  const out: Partial<Record<GrpcStatusName, number>> = {};
  c.grpcStatuses.forEach((n, code) => {
    if (n > 0) out[GRPC_STATUS_NAMES[code]] = n;
  });
  return out;
}
