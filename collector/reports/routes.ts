import type { FastifyInstance } from 'fastify';
import { GRANULARITIES } from '../aggregate/traffic.ts';
import { DEFAULT_LATENESS_MS, qpdCsv, qpdRows } from './billing.ts';
import {
  checkRange,
  classFilter,
  DAY_MS,
  dateParam,
  limitParam,
  oneOf,
  optionalString,
  rejectUnknown,
  statusParam,
  timeParam,
} from './params.ts';
import type { ReportSource, TraceExampleRow } from './source.ts';
import { rankExamples } from '../aggregate/trace-examples.ts';
import { trafficReport } from './traffic-report.ts';

export interface ReportRouteOptions {
  /** How long after a day ends late events still count; `final` is true after it (default 48 h). */
  latenessMs?: number;
  /** Longest range one request may ask for (default 366 days). */
  maxRangeDays?: number;
  now?: () => number;
}

type Query = Record<string, unknown>;

/**
 * Mounts the reports API on the admin server, which owns auth and the error
 * replies: a bad parameter (ParamError) is 400 GW_ERR_BAD_REQUEST and a store
 * that cannot answer (ReportsUnavailableError) 503 GW_ERR_REPORTS_UNAVAILABLE.
 *   GET /reports/traffic?from=&to=&granularity=hour|day&app=&service=&protocol=&grpc_status=
 *   GET /reports/traffic/traces?from=&to=&app=&service=&limit=
 *   GET /billing/qpd?from=YYYY-MM-DD&to=YYYY-MM-DD&format=json|csv&protocol=&grpc_status=   (both dates inclusive)
 *   GET /stats/live
 *   GET /events/recent?limit=&app=&service=&status=
 */
export function registerReportRoutes(
  app: FastifyInstance,
  source: ReportSource,
  options: ReportRouteOptions = {},
): void {
  const latenessMs = options.latenessMs ?? DEFAULT_LATENESS_MS;
  const maxRangeDays = options.maxRangeDays ?? 366;
  const now = options.now ?? Date.now;

  // Summaries and tags for the OpenAPI document only: the parameters are checked here (params.ts), with the
  // registry's error replies, not by a fastify schema.
  const doc = (summary: string, description: string) => ({ schema: { summary, description, tags: ['reports'] } });

  app.get(
    '/reports/traffic',
    doc(
      'Requests, status classes, bytes, latency percentiles, protocols and gRPC statuses per hour or day.',
      'Query: `from`, `to` (ISO 8601 date, or time with a zone, 1970 to 2106-01-01; ' +
        'required), `granularity` (`hour` or `day`, default hour), `app`, `service`, `protocol` (`http/1.1`, `h2`, ' +
        '`grpc`, `websocket`, `tcp`), `grpc_status` (a name such as `UNAVAILABLE`, or a code 0..16; ' +
        'gRPC calls only). ' +
        'Answers `{rows: [{bucket, requests, status_2xx, …, bytes_out, messages_in, messages_out, …, ' +
        'latency_p99_ms, protocols, grpc_statuses}]}`.',
    ),
    async (req) => {
      const query = req.query as Query;
      rejectUnknown(query, ['from', 'to', 'granularity', 'app', 'service', 'protocol', 'grpc_status']);
      const fromMs = timeParam(query, 'from');
      const toMs = timeParam(query, 'to');
      checkRange(fromMs, toMs, maxRangeDays);
      const selection = {
        fromMs,
        toMs,
        granularity: oneOf(query, 'granularity', GRANULARITIES, 'hour'),
        appId: optionalString(query, 'app'),
        service: optionalString(query, 'service'),
        ...classFilter(query),
      };
      return { rows: trafficReport(await source.traffic(selection)) };
    },
  );

  app.get(
    '/reports/traffic/traces',
    doc(
      'Example traces of a report window: per hour, app and service, the slowest traced request and error.',
      'Query: `from`, `to` (as for /reports/traffic: the hours starting in [from, to)), `app`, `service`, `limit` ' +
        '(1..100, default 20). Per hour, app and service: the slowest traced request answered below 500 ' +
        '(`kind: slowest`) and at 500 or above (`kind: error`). Only requests the gateway traced (tracing on, ' +
        'sampled) have examples. Single node: kept with the aggregates; cluster: read from the ClickHouse raw ' +
        'events, so as long as they are kept. Answers `{traces: [{bucket, app_id, service, kind, trace_id, time, ' +
        'route, status, total_ms}]}`, errors first, then the slowest first.',
    ),
    async (req) => {
      const query = req.query as Query;
      rejectUnknown(query, ['from', 'to', 'app', 'service', 'limit']);
      const fromMs = timeParam(query, 'from');
      const toMs = timeParam(query, 'to');
      checkRange(fromMs, toMs, maxRangeDays);
      const examples = await source.traceExamples({
        fromMs,
        toMs,
        appId: optionalString(query, 'app'),
        service: optionalString(query, 'service'),
        limit: limitParam(query, 100, 20),
      });
      return {
        traces: rankExamples(examples, 100).map(
          (e): TraceExampleRow => ({
            bucket: new Date(e.bucketStartMs).toISOString(),
            app_id: e.appId,
            service: e.service,
            kind: e.kind,
            trace_id: e.traceId,
            time: new Date(e.startMs).toISOString(),
            route: e.route,
            status: e.status,
            total_ms: Math.round(e.totalUs / 100) / 10,
          }),
        ),
      };
    },
  );

  app.get(
    '/billing/qpd',
    doc(
      'Queries per day per app, with the final flag and requests per protocol, as JSON or CSV.',
      'Query: `from`, `to` (YYYY-MM-DD, both inclusive, 1970 to 2105; required), ' +
        '`format` (`json` or `csv`, default json), ' +
        '`protocol`, `grpc_status` (as for /reports/traffic: only those requests are counted).',
    ),
    async (req, reply) => {
      const query = req.query as Query;
      rejectUnknown(query, ['from', 'to', 'format', 'protocol', 'grpc_status']);
      const fromMs = dateParam(query, 'from');
      // `to` is inclusive: from=2025-03-01&to=2025-03-31 is March.
      const toMs = dateParam(query, 'to') + DAY_MS;
      checkRange(fromMs, toMs, maxRangeDays);
      const format = oneOf(query, 'format', ['json', 'csv'] as const, 'json');
      const rows = qpdRows(await source.dailyApps({ fromMs, toMs, ...classFilter(query) }), now(), latenessMs);
      if (format === 'json') return { rows };
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const name = `qpd-${day(fromMs)}-${day(toMs - DAY_MS)}.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(qpdCsv(rows));
    },
  );

  app.get(
    '/events/recent',
    doc(
      'The newest access events (requests, refused ones included), newest first: the live tail.',
      'Query: `limit` (1..500, default 50), `app`, `service`, `status` (one status such as `429`, or a class such as ' +
        '`5xx`). A bounded sample of what the collector counted last (single node: the last 1,024 requests; ' +
        'cluster: ClickHouse raw events of the last ten minutes), not a report. Answers `{events: [{id, time, ' +
        'app_id, service, route, method, status, protocol, total_ms, client_ip, target, error_class, grpc_status, ' +
        'bytes_in, bytes_out, trace_id}]}`.',
    ),
    async (req) => {
      const query = req.query as Query;
      rejectUnknown(query, ['limit', 'app', 'service', 'status']);
      const events = await source.recentEvents({
        limit: limitParam(query, 500, 50),
        appId: optionalString(query, 'app'),
        service: optionalString(query, 'service'),
        ...statusParam(query),
      });
      return { events };
    },
  );

  app.get(
    '/stats/live',
    doc(
      "Requests per second now, and today's requests per app and service.",
      'Answers `status: degraded` with the reason, at once, when the live counters cannot be read.',
    ),
    async (req) => {
      rejectUnknown(req.query as Query, []);
      return source.live();
    },
  );
}
