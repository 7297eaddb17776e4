import { useState } from 'preact/hooks';
import { download, get, query } from '../api.ts';
import { toCsv } from '../lib/csv.ts';
import { Chart, color } from '../ui/chart.tsx';
import { useLoad, useTraceLink } from '../ui/hooks.ts';
import { Field, Loading, Notice, num, TraceId } from '../ui/parts.tsx';
import type { App } from './apps.tsx';
import type { Service } from './services.tsx';
import type { TraceExampleRow } from '../../../../../collector/reports/source.ts';
import type { TrafficReportRow } from '../../../../../collector/reports/traffic-report.ts';

type Row = TrafficReportRow;

const COLUMNS = [
  'bucket',
  'requests',
  'status_2xx',
  'status_3xx',
  'status_4xx',
  'status_5xx',
  'bytes_in',
  'bytes_out',
  'messages_in',
  'messages_out',
  'latency_p50_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'protocols',
  'grpc_statuses',
] as const;
type Example = TraceExampleRow;

const PROTOCOLS = ['', 'http/1.1', 'h2', 'grpc', 'websocket', 'tcp'];
const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** GET /reports/traffic as charts and a table, for an app and/or service, by hour or day; the table as CSV. */
export function Reports() {
  const [form, setForm] = useState({
    app: '',
    service: '',
    granularity: 'hour',
    from: day(0),
    to: day(1),
    protocol: '',
  });
  const [asked, setAsked] = useState(form);
  const apps = useLoad(() => get<App[]>('/apps').then((r) => r.data), []);
  const services = useLoad(() => get<Service[]>('/services').then((r) => r.data), []);
  const report = useLoad(
    () =>
      get<{ rows: Row[] }>(
        `/reports/traffic${query({
          from: asked.from,
          to: asked.to,
          granularity: asked.granularity,
          app: asked.app,
          service: asked.service,
          protocol: asked.protocol,
        })}`,
      ).then((r) => r.data.rows),
    [asked],
  );
  const examples = useLoad(
    () =>
      get<{ traces: Example[] }>(
        `/reports/traffic/traces${query({ from: asked.from, to: asked.to, app: asked.app, service: asked.service })}`,
      ).then((r) => r.data.traces),
    [asked],
  );
  const traceLink = useTraceLink();
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const rows = report.data ?? [];
  const xs = rows.map((r) => Date.parse(r.bucket) / 1000);
  // Buckets are UTC: their labels too.
  const label = (s: number) => {
    const iso = new Date(s * 1000).toISOString();
    return asked.granularity === 'day' ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  };
  const span: [number, number] = [
    Date.parse(`${asked.from}T00:00:00Z`) / 1000,
    Date.parse(`${asked.to}T00:00:00Z`) / 1000,
  ];
  return (
    <>
      <h1>Traffic</h1>
      <form
        class="inline"
        aria-label="Report"
        onSubmit={(e) => {
          e.preventDefault();
          setAsked(form);
        }}
      >
        <Field id="r-app" label="App">
          <select id="r-app" value={form.app} onChange={set('app')}>
            <option value="">all apps</option>
            {(apps.data ?? []).map((a) => (
              <option value={a.id}>{a.id}</option>
            ))}
          </select>
        </Field>
        <Field id="r-service" label="Service">
          <select id="r-service" value={form.service} onChange={set('service')}>
            <option value="">all services</option>
            {(services.data ?? []).map((s) => (
              <option value={s.name}>{s.name}</option>
            ))}
          </select>
        </Field>
        <Field id="r-protocol" label="Protocol">
          <select id="r-protocol" value={form.protocol} onChange={set('protocol')}>
            {PROTOCOLS.map((p) => (
              <option value={p}>{p === '' ? 'all' : p}</option>
            ))}
          </select>
        </Field>
        <Field id="r-granularity" label="Resolution">
          <select id="r-granularity" value={form.granularity} onChange={set('granularity')}>
            <option value="hour">hour</option>
            <option value="day">day</option>
          </select>
        </Field>
        <Field id="r-from" label="From (UTC)">
          <input id="r-from" type="date" value={form.from} onInput={set('from')} required />
        </Field>
        <Field id="r-to" label="To (UTC, not included)">
          <input id="r-to" type="date" value={form.to} onInput={set('to')} required />
        </Field>
        <button type="submit">Show</button>
      </form>
      {report.error && <Notice kind="error">{report.error}</Notice>}
      {report.loading && report.data === undefined ? (
        <Loading what="the report" />
      ) : (
        <>
          <div class="charts">
            <Chart
              title="Requests and errors per bucket"
              xRange={span}
              xLabel={label}
              xs={xs}
              series={[
                { label: 'requests', values: rows.map((r) => r.requests), color: color(0) },
                { label: '4xx', values: rows.map((r) => r.status_4xx), color: color(3) },
                { label: '5xx', values: rows.map((r) => r.status_5xx), color: color(1) },
              ]}
            />
            <Chart
              title="Latency percentiles per bucket"
              unit=" ms"
              xRange={span}
              xLabel={label}
              xs={xs}
              series={[
                { label: 'p50', values: rows.map((r) => r.latency_p50_ms), color: color(2) },
                { label: 'p95', values: rows.map((r) => r.latency_p95_ms), color: color(3) },
                { label: 'p99', values: rows.map((r) => r.latency_p99_ms), color: color(1) },
              ]}
            />
          </div>
          <div class="toolbar">
            <button
              type="button"
              disabled={rows.length === 0}
              onClick={() => download(`traffic-${asked.from}-${asked.to}.csv`, toCsv(COLUMNS, rows as never))}
            >
              Download CSV
            </button>
          </div>
          <div class="scroll">
            <table aria-label="Traffic by bucket">
              <thead>
                <tr>
                  <th>Bucket (UTC)</th>
                  <th>Requests</th>
                  <th>2xx</th>
                  <th>4xx</th>
                  <th>5xx</th>
                  <th>p50 ms</th>
                  <th>p95 ms</th>
                  <th>p99 ms</th>
                  <th>Bytes in</th>
                  <th>Bytes out</th>
                  <th>Protocols</th>
                  <th>gRPC statuses</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr>
                    <td>{r.bucket.replace('T', ' ').replace(':00.000Z', '')}</td>
                    <td>{num(r.requests)}</td>
                    <td>{num(r.status_2xx)}</td>
                    <td>{num(r.status_4xx)}</td>
                    <td>{num(r.status_5xx)}</td>
                    <td>{r.latency_p50_ms}</td>
                    <td>{r.latency_p95_ms}</td>
                    <td>{r.latency_p99_ms}</td>
                    <td>{num(r.bytes_in)}</td>
                    <td>{num(r.bytes_out)}</td>
                    <td>
                      {Object.entries(r.protocols)
                        .filter(([, n]) => n > 0)
                        .map(([p, n]) => `${p} ${num(n)}`)
                        .join(', ')}
                    </td>
                    <td>
                      {Object.entries(r.grpc_statuses)
                        .map(([s, n]) => `${s} ${num(n)}`)
                        .join(', ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {rows.length === 0 && <p class="muted">No traffic in this range.</p>}
          <ExampleTraces examples={examples.data ?? []} error={examples.error} link={traceLink} />
        </>
      )}
    </>
  );
}

/** Per hour, app and service of the report, its slowest traced request and error, linked to the tracing UI. */
function ExampleTraces(props: { examples: Example[]; error?: string; link: (traceId: string) => string | undefined }) {
  return (
    <>
      <h2>Example traces</h2>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      {props.examples.length === 0 ? (
        <p class="muted">No traced request in this range (tracing off, or none sampled).</p>
      ) : (
        <div class="scroll">
          <table aria-label="Example traces">
            <thead>
              <tr>
                <th>Hour (UTC)</th>
                <th>App</th>
                <th>Service</th>
                <th>Example</th>
                <th>Status</th>
                <th>ms</th>
                <th>Route</th>
                <th>Trace</th>
              </tr>
            </thead>
            <tbody>
              {props.examples.map((e) => (
                <tr class={e.kind === 'error' ? 'status-5xx' : undefined}>
                  <td>{e.bucket.replace('T', ' ').replace(':00.000Z', '')}</td>
                  <td>{e.app_id}</td>
                  <td>{e.service}</td>
                  <td>{e.kind === 'error' ? 'slowest error' : 'slowest'}</td>
                  <td>{e.status}</td>
                  <td>{e.total_ms}</td>
                  <td>{e.route}</td>
                  <td>
                    <TraceId id={e.trace_id} link={props.link} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
