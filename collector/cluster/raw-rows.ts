/**
 * access_events rows (migrations/0001_access_events.sql) from decoded events.
 * The collector writes them as TabSeparated text built straight from the
 * event: at 100k events/s an object per row plus JSON.stringify was the
 * collector's largest single cost (test/bench/analytics/collector.bench.ts),
 * and ClickHouse parses TSV with less work than JSON too. rawRow() is the
 * same row as an object, for tests and JSONEachRow inserts.
 */
import type { AccessEvent } from '../../shared/access-event.ts';

export const RAW_COLUMNS = [
  'event_id',
  'ts',
  'ts_ms',
  'node',
  'app_id',
  'service',
  'route',
  'method',
  'status',
  'upstream_status',
  'total_us',
  'upstream_us',
  'gateway_us',
  'bytes_in',
  'bytes_out',
  'client_ip',
  'target',
  'error_class',
  'trace_id',
  'protocol',
  'tls_version',
  'grpc_status',
  'grpc_method',
  'messages_in',
  'messages_out',
  'close_code',
  'close_reason',
  'interim',
  'source',
  'source_offset',
] as const;

/** The statement head; TSV lines follow it in the same request body. */
export const RAW_INSERT_TSV = `INSERT INTO access_events (${RAW_COLUMNS.join(', ')}) FORMAT TabSeparated\n`;

export function rawRow(event: AccessEvent, source: string, offset: number): Record<string, unknown> {
  return {
    event_id: event.id,
    ts: Math.floor(event.startMs / 1000),
    ts_ms: event.startMs % 1000,
    node: event.node,
    app_id: event.appId,
    service: event.service,
    route: event.route,
    method: event.method,
    status: event.status,
    upstream_status: event.upstreamStatus,
    total_us: event.totalUs,
    upstream_us: event.upstreamUs,
    gateway_us: event.gatewayUs,
    bytes_in: event.bytesIn,
    bytes_out: event.bytesOut,
    client_ip: event.clientIp,
    target: event.target,
    error_class: event.errorClass,
    trace_id: event.traceId,
    protocol: event.protocol,
    tls_version: event.tlsVersion,
    grpc_status: event.grpcStatus,
    grpc_method: event.grpcMethod,
    messages_in: event.messagesIn,
    messages_out: event.messagesOut,
    close_code: event.closeCode,
    close_reason: event.closeReason,
    interim: event.interim ? 1 : 0,
    source,
    source_offset: offset,
  };
}

/**
 * The rawRow() of the event as one TabSeparated line (newline included), in
 * RAW_COLUMNS order. `source` must already be escaped (tsvString) — it is the
 * same for a whole partition. DateTime takes epoch seconds as text, on 18.16 too.
 */
export function rawRowTsv(e: AccessEvent, source: string, offset: number): string {
  return (
    tsvString(e.id) +
    '\t' +
    Math.floor(e.startMs / 1000) +
    '\t' +
    (e.startMs % 1000) +
    '\t' +
    tsvString(e.node) +
    '\t' +
    tsvString(e.appId) +
    '\t' +
    tsvString(e.service) +
    '\t' +
    tsvString(e.route) +
    '\t' +
    tsvString(e.method) +
    '\t' +
    e.status +
    '\t' +
    e.upstreamStatus +
    '\t' +
    e.totalUs +
    '\t' +
    e.upstreamUs +
    '\t' +
    e.gatewayUs +
    '\t' +
    e.bytesIn +
    '\t' +
    e.bytesOut +
    '\t' +
    tsvString(e.clientIp) +
    '\t' +
    tsvString(e.target) +
    '\t' +
    e.errorClass +
    '\t' +
    tsvString(e.traceId) +
    '\t' +
    e.protocol +
    '\t' +
    tsvString(e.tlsVersion) +
    '\t' +
    e.grpcStatus +
    '\t' +
    tsvString(e.grpcMethod) +
    '\t' +
    e.messagesIn +
    '\t' +
    e.messagesOut +
    '\t' +
    e.closeCode +
    '\t' +
    tsvString(e.closeReason) +
    '\t' +
    (e.interim ? 1 : 0) +
    '\t' +
    source +
    '\t' +
    offset +
    '\n'
  );
}

const TSV_SPECIAL = /[\t\n\r\\]/;
const TSV_SPECIAL_ALL = /[\t\n\r\\]/g;
const TSV_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' };

/** A String value in ClickHouse's TabSeparated escaping; almost every value has nothing to escape. */
export function tsvString(value: string): string {
  return TSV_SPECIAL.test(value) ? value.replace(TSV_SPECIAL_ALL, (c) => TSV_ESCAPES[c]) : value;
}
