/**
 * GET /metrics in OpenMetrics (asked for with `Accept: application/openmetrics-text`, as Prometheus does when it
 * stores exemplars): the same samples, written as OpenMetrics has them (a counter's family named without `_total`,
 * no blank lines, `# EOF` last), and on each bucket of tollgate_request_duration_seconds the newest traced request
 * that fell in it, as an exemplar naming its trace id. A latency spike on a dashboard then leads to a trace.
 */
import type { RouteStatsRegistry } from '../route-stats.ts';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Whether an Accept header asks for OpenMetrics before the classic text format. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept?.includes('application/openmetrics-text') === true;
}

const BUCKET = 'tollgate_request_duration_seconds_bucket{';
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const unescapeLabel = (v: string) => v.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** Prometheus text (0.0.4) as OpenMetrics 1.0, with the route buckets' exemplars. */
export function toOpenMetrics(text: string, routes: RouteStatsRegistry): string {
  const out: string[] = [];
  /** Counter families named with `_total`: their HELP and TYPE lines drop it. */
  const counters = new Set<string>();
  for (const line of text.split('\n')) if (/^# TYPE \S+_total counter$/.test(line)) counters.add(line.split(' ')[2]);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const name = line.split(' ', 3)[2];
      const renamed = counters.has(name) ? line.replace(name, name.slice(0, -'_total'.length)) : line;
      out.push(renamed.replace(/ untyped$/, ' unknown'));
      continue;
    }
    const sample = line.replace(/ Nan$/, ' NaN');
    out.push(sample.startsWith(BUCKET) ? withExemplar(sample, routes) : sample);
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

function withExemplar(line: string, routes: RouteStatsRegistry): string {
  const labels: Record<string, string> = {};
  for (const m of line.slice(0, line.lastIndexOf('}')).matchAll(LABEL)) labels[m[1]] = unescapeLabel(m[2]);
  const e = routes
    .find(labels.service ?? '', labels.route ?? '')
    ?.exemplarAt(labels.status_class ?? '', labels.le ?? '');
  return e === undefined ? line : `${line} # {trace_id="${e.traceId}"} ${e.seconds} ${(e.atMs / 1000).toFixed(3)}`;
}
