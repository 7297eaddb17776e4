/**
 * Between TrafficCounters (collector/aggregate/traffic.ts) and the columns of
 * an aggregate row (migrations/0002_traffic_hourly.sql, 0005_traffic_hourly_protocols.sql).
 */
import type { TrafficCounters } from '../aggregate/traffic.ts';
import { emptyCounters } from '../aggregate/traffic.ts';

export const AGGREGATE_COLUMNS = [
  'requests',
  'status_2xx',
  'status_3xx',
  'status_4xx',
  'status_5xx',
  'billable',
  'rejections',
  'bytes_in',
  'bytes_out',
  'latency_buckets',
  'protocols',
  'grpc_statuses',
  'messages_in',
  'messages_out',
] as const;

export interface AggregateColumns {
  requests: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  status_5xx: number;
  billable: number;
  rejections: number[];
  bytes_in: number;
  bytes_out: number;
  latency_buckets: number[];
  protocols: number[];
  grpc_statuses: number[];
  messages_in: number;
  messages_out: number;
}

export function toColumns(c: TrafficCounters): AggregateColumns {
  return {
    requests: c.requests,
    status_2xx: c.status2xx,
    status_3xx: c.status3xx,
    status_4xx: c.status4xx,
    status_5xx: c.status5xx,
    billable: c.billable,
    rejections: [...c.rejections],
    bytes_in: c.bytesIn,
    bytes_out: c.bytesOut,
    latency_buckets: [...c.latency],
    protocols: [...c.protocols],
    grpc_statuses: [...c.grpcStatuses],
    messages_in: c.messagesIn,
    messages_out: c.messagesOut,
  };
}

/**
 * Counters read back from ClickHouse, padded to today's array lengths: a row
 * written before a class or bucket was appended has shorter arrays.
 */
export function fromColumns(row: Record<string, unknown>): TrafficCounters {
  const c = emptyCounters();
  c.requests = Number(row.requests);
  c.status2xx = Number(row.status_2xx);
  c.status3xx = Number(row.status_3xx);
  c.status4xx = Number(row.status_4xx);
  c.status5xx = Number(row.status_5xx);
  c.billable = Number(row.billable);
  c.bytesIn = Number(row.bytes_in);
  c.bytesOut = Number(row.bytes_out);
  // Rows written before 0010 and 0011 read these as 0 (the column default).
  c.messagesIn = Number(row.messages_in ?? 0);
  c.messagesOut = Number(row.messages_out ?? 0);
  ((row.rejections as number[] | undefined) ?? []).forEach((n, i) => (c.rejections[i] = Number(n)));
  ((row.latency_buckets as number[] | undefined) ?? []).forEach((n, i) => (c.latency[i] = Number(n)));
  ((row.protocols as number[] | undefined) ?? []).forEach((n, i) => (c.protocols[i] = Number(n)));
  ((row.grpc_statuses as number[] | undefined) ?? []).forEach((n, i) => (c.grpcStatuses[i] = Number(n)));
  return c;
}
