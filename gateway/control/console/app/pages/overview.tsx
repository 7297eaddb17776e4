import { useEffect, useRef, useState } from 'preact/hooks';
import { get, text } from '../api.ts';
import { parseSamples, type Sample } from '../lib/prometheus.ts';
import { RATE_FAMILIES, ratesBetween, type Rates, type Totals, totalsByService } from '../lib/live-rates.ts';
import { Chart, color } from '../ui/chart.tsx';
import { messageOf, useLoad } from '../ui/hooks.ts';
import { Loading, ms, Notice, num, pct, when } from '../ui/parts.tsx';

const POLL_MS = 2000;
/** Points kept for the chart: five minutes at one a poll. */
const HISTORY = 150;
const CONNECTION_FAMILIES = new Set([
  'tollgate_websocket_connections',
  'tollgate_stream_connections',
  'tollgate_client_connections',
  'tollgate_grpc_calls_total',
]);

interface Reading {
  atS: number;
  totals: Map<string, Totals>;
  samples: Sample[];
}

/** Live rates from /metrics, read every two seconds: the window between two readings. */
function useLiveRates() {
  const last = useRef<Reading | undefined>(undefined);
  const [rates, setRates] = useState<Rates[]>([]);
  const [extra, setExtra] = useState<Sample[]>([]);
  const [grpc, setGrpc] = useState<Map<string, number>>(new Map());
  const [history, setHistory] = useState<{ xs: number[]; rps: number[]; errors: number[]; p99: Array<number | null> }>({
    xs: [],
    rps: [],
    errors: [],
    p99: [],
  });
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const families = new Set([...RATE_FAMILIES, ...CONNECTION_FAMILIES]);
    const read = async () => {
      try {
        const samples = parseSamples(await text('/metrics'), families);
        const reading = { atS: Date.now() / 1000, totals: totalsByService(samples), samples };
        const before = last.current;
        last.current = reading;
        setExtra(samples.filter((s) => CONNECTION_FAMILIES.has(s.name)));
        if (before !== undefined) {
          const now = ratesBetween(before.totals, reading.totals, reading.atS - before.atS);
          setRates(now);
          setGrpc(grpcDelta(before.samples, samples));
          const all = now.find((r) => r.service === '');
          setHistory((h) => ({
            xs: [...h.xs, reading.atS].slice(-HISTORY),
            rps: [...h.rps, all?.rps ?? 0].slice(-HISTORY),
            errors: [...h.errors, (all?.errorRatio ?? 0) * 100].slice(-HISTORY),
            p99: [...h.p99, all?.p99Ms ?? null].slice(-HISTORY),
          }));
        }
        setError(undefined);
      } catch (e) {
        setError(messageOf(e));
      }
      if (!stop) timer = setTimeout(read, POLL_MS);
    };
    void read();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, []);
  return { rates, extra, grpc, history, error };
}

/** gRPC calls per status in the window. */
function grpcDelta(before: Sample[], after: Sample[]): Map<string, number> {
  const sum = (samples: Sample[]) => {
    const m = new Map<string, number>();
    for (const s of samples)
      if (s.name === 'tollgate_grpc_calls_total')
        m.set(s.labels.grpc_status ?? '', (m.get(s.labels.grpc_status ?? '') ?? 0) + s.value);
    return m;
  };
  const a = sum(before);
  const out = new Map<string, number>();
  for (const [k, v] of sum(after)) if (v - (a.get(k) ?? 0) > 0) out.set(k, v - (a.get(k) ?? 0));
  return out;
}

export function Overview() {
  const live = useLiveRates();
  const health = useLoad(() => get<Array<{ service: string; targets: Target[] }>>('/health'), [], 5000);
  const changes = useLoad(() => get<Version[]>('/config/history?limit=5'), [], 10_000);
  const today = useLoad(() => get<LiveStats>('/stats/live'), [], 5000);
  const all = live.rates.find((r) => r.service === '');
  const lastS = live.history.xs.at(-1) ?? Date.now() / 1000;
  const span: [number, number] = [lastS - (HISTORY * POLL_MS) / 1000, lastS];
  const open = (name: string) => live.extra.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
  return (
    <>
      <h1>Overview</h1>
      {live.error && <Notice kind="error">Metrics: {live.error}</Notice>}
      <section class="tiles" aria-label="Now">
        <Tile label="Requests/s" value={num(all?.rps, 1)} />
        <Tile label="5xx" value={pct(all?.errorRatio)} />
        <Tile label="Refused (4xx)" value={pct(all?.refusedRatio)} />
        <Tile label="p50 / p95 / p99" value={`${ms(all?.p50Ms)} / ${ms(all?.p95Ms)} / ${ms(all?.p99Ms)}`} />
        <Tile label="Client connections" value={num(open('tollgate_client_connections'))} />
        <Tile
          label="WebSocket / TCP open"
          value={`${num(open('tollgate_websocket_connections'))} / ${num(open('tollgate_stream_connections'))}`}
        />
        <Tile label="Today (UTC)" value={num(today.data?.data.today.reduce((n, r) => n + r.requests, 0))} />
      </section>
      <section>
        <h2>Last five minutes</h2>
        <div class="charts">
          <Chart
            title="Requests per second"
            xRange={span}
            xs={live.history.xs}
            series={[{ label: 'req/s', values: live.history.rps, color: color(0) }]}
          />
          <Chart
            title="p99 latency"
            unit=" ms"
            xRange={span}
            xs={live.history.xs}
            series={[{ label: 'p99', values: live.history.p99, color: color(3) }]}
          />
        </div>
      </section>
      <section>
        <h2>Services</h2>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Service</th>
                <th>req/s</th>
                <th>5xx</th>
                <th>4xx</th>
                <th>p50</th>
                <th>p95</th>
                <th>p99</th>
              </tr>
            </thead>
            <tbody>
              {live.rates
                .filter((r) => r.service !== '')
                .map((r) => (
                  <tr>
                    <td>
                      <a href={`#/services/${encodeURIComponent(r.service)}`}>{r.service}</a>
                    </td>
                    <td>{num(r.rps, 1)}</td>
                    <td>{pct(r.errorRatio)}</td>
                    <td>{pct(r.refusedRatio)}</td>
                    <td>{ms(r.p50Ms)}</td>
                    <td>{ms(r.p95Ms)}</td>
                    <td>{ms(r.p99Ms)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        {live.grpc.size > 0 && (
          <p>
            gRPC calls in the last two seconds: {[...live.grpc].map(([status, n]) => `${status} ${num(n)}`).join(', ')}
          </p>
        )}
      </section>
      <section>
        <h2>Upstream targets</h2>
        {health.error && <Notice kind="error">{health.error}</Notice>}
        {health.data === undefined ? <Loading what="target health" /> : <HealthTable rows={health.data.data} />}
      </section>
      <section>
        <h2>Recent config changes</h2>
        {changes.data && (
          <ul class="plain">
            {changes.data.data.map((v) => (
              <li>
                <a href="#/config">v{v.version}</a> {when(v.createdAt)} — {v.source}
                {v.note ? `: ${v.note}` : ''}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

export interface Target {
  id: string;
  weight: number;
  healthy: boolean;
  ejected: boolean;
  active: number;
}

interface Version {
  version: number;
  source: string;
  createdAt: string;
  note: string;
}

interface LiveStats {
  status: string;
  qps: number | null;
  today: Array<{ app_id: string; service: string; requests: number }>;
}

export function HealthTable(props: { rows: Array<{ service: string; targets: Target[] }> }) {
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>Service</th>
            <th>Target</th>
            <th>Weight</th>
            <th>State</th>
            <th>In flight</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.flatMap((s) =>
            s.targets.map((t) => (
              <tr>
                <td>{s.service}</td>
                <td>{t.id}</td>
                <td>{t.weight}</td>
                <td>
                  <TargetState target={t} />
                </td>
                <td>{t.active}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

export function TargetState(props: { target: Target }) {
  const t = props.target;
  const state = t.ejected ? 'ejected' : t.healthy ? 'healthy' : 'unhealthy';
  return <span class={`badge ${state}`}>{state}</span>;
}

function Tile(props: { label: string; value: string }) {
  return (
    <div class="tile">
      <span class="label">{props.label}</span>
      <span class="value">{props.value}</span>
    </div>
  );
}
