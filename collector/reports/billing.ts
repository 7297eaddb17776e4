import type { DailyAppRow } from './source.ts';
import { DAY_MS } from './params.ts';
import { protocolCounts } from '../aggregate/traffic.ts';

/** Late events are accepted this long after a day ends; until then the day's numbers may still grow. */
export const DEFAULT_LATENESS_MS = 48 * 3_600_000;

/** One row of GET /billing/qpd. */
export interface QpdRow {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  app_id: string;
  requests: number;
  /** Requests billable by shared/billable.ts, the definition QPD limits use too. */
  billable_requests: number;
  /** True once the lateness window after the day has passed: the numbers will not change. */
  final: boolean;
  /** `requests` by the protocol the client spoke (a gRPC call is not counted as h2 too). */
  http1_requests: number;
  h2_requests: number;
  grpc_requests: number;
  /** WebSocket connections, each one request (docs/websocket.md). */
  websocket_requests: number;
}

/** The protocol columns come last, so a reader of the columns before them is unaffected. */
export const QPD_COLUMNS = [
  'date',
  'app_id',
  'requests',
  'billable_requests',
  'final',
  'http1_requests',
  'h2_requests',
  'grpc_requests',
  'websocket_requests',
] as const;

/**
 * One row per app and day, by date then app. Anonymous traffic (app_id '')
 * has no tenant to bill and is left out; it stays in the traffic reports.
 */
export function qpdRows(rows: readonly DailyAppRow[], nowMs: number, latenessMs: number): QpdRow[] {
  return rows
    .filter((r) => r.appId !== '')
    .map((r) => {
      const byProtocol = protocolCounts({ requests: r.requests, protocols: r.protocols });
      return {
        date: new Date(r.dayStartMs).toISOString().slice(0, 10),
        app_id: r.appId,
        requests: r.requests,
        billable_requests: r.billable,
        final: r.dayStartMs + DAY_MS + latenessMs <= nowMs,
        http1_requests: byProtocol['http/1.1'],
        h2_requests: byProtocol.h2,
        grpc_requests: byProtocol.grpc,
        websocket_requests: byProtocol.websocket,
      };
    })
    .sort((a, b) => (a.date === b.date ? compare(a.app_id, b.app_id) : compare(a.date, b.date)));
}

/**
 * RFC 4180: a header line, CRLF line ends, fields quoted when they hold a comma, quote or line break. A field a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or CR first: an app id an external issuer's claim
 * names, `=HYPERLINK(...)`) gets a `'` before it, as OWASP advises for CSV meant to be opened; JSON keeps ids as
 * they are.
 */
export function qpdCsv(rows: readonly QpdRow[]): string {
  const lines = [QPD_COLUMNS.join(',')];
  for (const r of rows) lines.push(QPD_COLUMNS.map((c) => csvField(String(r[c]))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function csvField(value: string): string {
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
